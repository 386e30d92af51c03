#include "server/push_targets.hpp"

#include "core/error.hpp"
#include "registry/reference.hpp"

#include <fnmatch.h>

namespace oci2eif::server {

void check_push_target_pattern(const std::string& where, const std::string& pattern) {
  const auto slash = pattern.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == pattern.size() ||
      pattern.find_first_of("@ \t\n") != std::string::npos ||
      pattern.find("://") != std::string::npos || pattern.find(':', slash) != std::string::npos) {
    throw Error(ErrorCode::InvalidInput,
                where + ": '" + pattern +
                    "' is not HOST[:PORT]/REPOSITORY (globs allowed; no scheme, tag or digest)");
  }
}

void check_push_allowed(const std::vector<std::string>& patterns, const std::string& push) {
  const registry::Reference ref = registry::Reference::parse(push);
  const std::string place = ref.domain + "/" + ref.repository;
  for (const std::string& p : patterns) {
    if (::fnmatch(p.c_str(), place.c_str(), 0) == 0) {
      return;
    }
  }
  throw Error(ErrorCode::InvalidInput,
              "field 'push': " + place +
                  (patterns.empty() ? " is not allowed: this service pushes nowhere (configure "
                                      "push_targets)"
                                    : " is not among this service's push_targets"));
}

} // namespace oci2eif::server
