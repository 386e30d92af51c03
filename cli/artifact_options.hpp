// What `push`, `fetch` and `referrers` share: the registry flags as RegistryOptions, and the
// descriptor of the manifest an image reference names.
#pragma once

#include "cli/commands.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"
#include "registry/registry_source.hpp"

#include <iosfwd>

namespace oci2eif::cli {

// The registry options of `o` (TLS trust, plain-HTTP hosts, cache), logging to `log`.
registry::RegistryOptions artifact_registry_options(const ArtifactOptions& o, std::ostream& log);

// The mediaType, digest and size of the manifest or index `ref` names.
registry::Descriptor manifest_descriptor(const registry::Reference& ref,
                                         const registry::RegistryOptions& options);

} // namespace oci2eif::cli
