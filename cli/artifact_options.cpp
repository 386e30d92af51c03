#include "cli/artifact_options.hpp"

#include "registry/manifest_resolver.hpp"
#include "registry/registry_endpoints.hpp"

#include <ostream>
#include <variant>

namespace oci2eif::cli {

registry::RegistryOptions artifact_registry_options(const ArtifactOptions& o, std::ostream& log) {
  registry::RegistryOptions options;
  options.insecure_registries = o.insecure_registries;
  options.extra_ca_file = o.registry_ca ? o.registry_ca->string() : "";
  if (o.cache_dir) {
    options.cache_dir = *o.cache_dir;
  }
  options.log = [&log](const std::string& line) { log << line << "\n" << std::flush; };
  return options;
}

registry::Descriptor manifest_descriptor(const registry::Reference& ref,
                                         const registry::RegistryOptions& options) {
  // The manifest only: no blob cache is opened for a command that downloads no blob.
  registry::RegistryEndpoints endpoints(ref, options);
  registry::ManifestResolver resolver(ref, options, endpoints);
  // A registry's root is always a descriptor (an index value only comes from local layouts).
  return std::get<registry::Descriptor>(resolver.resolve());
}

} // namespace oci2eif::cli
