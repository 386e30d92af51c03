#include "server/local_image_policy.hpp"

#include "core/error.hpp"
#include "registry/archive_reference.hpp"
#include "registry/local_files.hpp"

#include <algorithm>

namespace oci2eif::server {
namespace {

std::string listed(const std::vector<std::filesystem::path>& roots) {
  std::string out;
  for (const auto& r : roots) {
    out += (out.empty() ? "" : ", ") + r.string();
  }
  return out;
}

} // namespace

std::filesystem::path allowed_local_root(const pipeline::ImageRef& image,
                                         const std::vector<std::filesystem::path>& roots) {
  if (image.kind == pipeline::SourceKind::Registry) {
    return {};
  }
  const std::filesystem::path path =
      registry::split_archive_location(image.location).path.lexically_normal();
  const std::string what = "field 'image': '" + image.location + "'";
  if (roots.empty()) {
    throw Error(ErrorCode::InvalidInput,
                what + ": this server does not build local images; use a registry reference "
                       "(the operator can allow directories with --local-images DIR)");
  }
  if (!path.is_absolute()) {
    throw Error(ErrorCode::InvalidInput, what + ": a local image path must be absolute");
  }
  const std::string refused =
      what + ": not below a directory this server builds local images from (" + listed(roots) + ")";
  // Compared as written: the files are opened beneath the root's handle, so what counts is the
  // path below it, not where links in the request's path would lead.
  const auto root = std::find_if(roots.begin(), roots.end(), [&](const auto& r) {
    return !registry::path_below(path, r).empty();
  });
  if (root == roots.end()) {
    throw Error(ErrorCode::InvalidInput, refused);
  }
  try {
    registry::LocalFiles::beneath(*root).check_path(path);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::InvalidInput) {
      throw Error(ErrorCode::InvalidInput, refused + ": a link in it leads outside");
    }
    throw;
  }
  return *root;
}

} // namespace oci2eif::server
