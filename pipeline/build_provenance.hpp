// The provenance of one finished build (core/provenance.hpp), gathered from what the build
// used: the image's manifest, config and layers as resolved, and the kernel bundle and init
// files (hashed here, as they were read).
#pragma once

#include "core/eif_signature.hpp"
#include "core/provenance.hpp"
#include "pipeline/build_pipeline.hpp"

#include <string>

namespace oci2eif::pipeline {

// builder.id of statements from the command line and from the service (docs/provenance.md).
inline constexpr const char* kCliBuilderId = "urn:oci2eif:builder:cli";
inline constexpr const char* kServiceBuilderId = "urn:oci2eif:builder:service";

struct ProvenanceContext {
  nlohmann::ordered_json external_parameters = nlohmann::ordered_json::object();
  std::string builder_id;    // a URI naming who ran it (kCliBuilderId, kServiceBuilderId)
  std::string invocation_id; // the service's build id; "" for the CLI
};

// `eif_sha256` is the digest of the EIF written to spec.output ("sha256:<hex>" or hex), as the
// caller has it (the service's artifact store computes it while publishing).
ProvenanceInputs build_provenance(const BuildSpec& spec, const BuildResult& result,
                                  const std::string& eif_sha256, const ProvenanceContext& context);

// The statement in a DSSE envelope signed with the EIF's signing key: one line, newline
// included, the contents of a provenance.intoto.jsonl file.
std::string signed_provenance_line(const ProvenanceInputs& inputs, const EifSigner& signer);

} // namespace oci2eif::pipeline
