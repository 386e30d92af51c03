#include "server/local_image_policy.hpp"

#include "core/error.hpp"
#include "registry/archive_reference.hpp"

#include <algorithm>

namespace oci2eif::server {
namespace {

bool is_below(const std::filesystem::path& path, const std::filesystem::path& root) {
  const auto [root_end, path_at] =
      std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

std::string listed(const std::vector<std::filesystem::path>& roots) {
  std::string out;
  for (const auto& r : roots) {
    out += (out.empty() ? "" : ", ") + r.string();
  }
  return out;
}

} // namespace

void check_local_image_allowed(const pipeline::ImageRef& image,
                               const std::vector<std::filesystem::path>& roots) {
  if (image.kind == pipeline::SourceKind::Registry) {
    return;
  }
  const std::filesystem::path path = registry::split_archive_location(image.location).path;
  const std::string what = "field 'image': '" + image.location + "'";
  if (roots.empty()) {
    throw Error(ErrorCode::InvalidInput,
                what + ": this server does not build local images; use a registry reference "
                       "(the operator can allow directories with --local-images DIR)");
  }
  if (!path.is_absolute()) {
    throw Error(ErrorCode::InvalidInput, what + ": a local image path must be absolute");
  }
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, ec);
  if (ec || !std::any_of(roots.begin(), roots.end(),
                         [&](const auto& root) { return is_below(resolved, root); })) {
    throw Error(ErrorCode::InvalidInput,
                what + ": not below a directory this server builds local images from (" +
                    listed(roots) + ")");
  }
}

} // namespace oci2eif::server
