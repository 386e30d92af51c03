#include "registry/platform.hpp"

#include "core/error.hpp"

#include <vector>

namespace oci2eif::registry {
namespace {
std::string normal_variant(const Platform& p) {
  return p.architecture == "arm64" && p.variant.empty() ? std::string("v8") : p.variant;
}
} // namespace

Platform Platform::parse(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t slash = std::min(text.find('/', start), text.size());
    parts.emplace_back(text.substr(start, slash - start));
    start = slash + 1;
  }
  bool ok = parts.size() == 2 || parts.size() == 3;
  for (const auto& p : parts) {
    ok = ok && !p.empty();
  }
  if (!ok) {
    throw Error(ErrorCode::InvalidInput, "platform '" + std::string(text) +
                                             "' must look like os/architecture[/variant], e.g. "
                                             "linux/amd64 or linux/arm64/v8");
  }
  Platform p;
  p.os = parts[0];
  p.architecture = parts[1];
  p.variant = parts.size() == 3 ? parts[2] : "";
  return p;
}

Platform Platform::for_arch(std::string_view eif_arch) {
  Platform p;
  p.architecture = eif_arch == "aarch64" || eif_arch == "arm64" ? "arm64" : "amd64";
  return p;
}

std::string Platform::to_string() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

bool Platform::matches(const Platform& c) const {
  if (c.os != os || c.architecture != architecture) {
    return false;
  }
  return variant.empty() || normal_variant(*this) == normal_variant(c);
}

} // namespace oci2eif::registry
