// Where the service may push EIFs (a build request's `push`, docs/oci-artifacts.md): the
// operator's `push_targets`, patterns of HOST[:PORT]/REPOSITORY matched as fnmatch globs (`*`
// also matches `/`), e.g. "registry.example:5000/team/*". None by default: a push writes with
// the service's registry credentials, so an API caller must not choose where they reach.
#pragma once

#include <string>
#include <vector>

namespace oci2eif::server {

// Throws InvalidInput naming `where` unless `pattern` is HOST/REPOSITORY (no tag, digest or
// scheme): a pattern is a place, the tag is the request's.
void check_push_target_pattern(const std::string& where, const std::string& pattern);

// Throws InvalidInput naming `push` unless its registry and repository match one of `patterns`.
void check_push_allowed(const std::vector<std::string>& patterns, const std::string& push);

} // namespace oci2eif::server
