// An image platform, "os/architecture[/variant]" (OCI image-index "platform"), and the matching
// rule used to pick one manifest out of an index.
#pragma once

#include <string>
#include <string_view>

namespace oci2eif::registry {

struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;

  // "linux/arm64/v8"; throws InvalidInput for anything that is not 2 or 3 non-empty parts.
  static Platform parse(std::string_view text);
  // The platform an EIF of this architecture runs ("x86_64" → linux/amd64, "aarch64" →
  // linux/arm64).
  static Platform for_arch(std::string_view eif_arch);
  std::string to_string() const;

  // True if `candidate` satisfies this request. An empty variant matches any; arm64's default
  // variant v8 and an absent variant are the same thing (as containerd treats them).
  bool matches(const Platform& candidate) const;
};

} // namespace oci2eif::registry
