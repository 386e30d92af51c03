#include "pipeline/build_provenance.hpp"

#include "core/digest.hpp"
#include "core/dsse.hpp"
#include "pipeline/version.hpp"

namespace oci2eif::pipeline {
namespace {

// "sha256:ab…" → "ab…"
std::string hex_of(const std::string& digest) {
  const auto colon = digest.find(':');
  return colon == std::string::npos ? digest : digest.substr(colon + 1);
}

void add_file(std::vector<ProvenanceDependency>& deps, const std::string& name,
              const std::filesystem::path& path) {
  // By content alone: a local path would make the statement differ between machines.
  deps.push_back({name, "", hex_of(sha256_file_digest(path))});
}

} // namespace

ProvenanceInputs build_provenance(const BuildSpec& spec, const BuildResult& result,
                                  const std::string& eif_sha256, const ProvenanceContext& context) {
  ProvenanceInputs in;
  in.eif_name = spec.output.filename().string();
  in.eif_sha256 = hex_of(eif_sha256);
  in.measurements = result.eif.measurements;
  in.external_parameters = context.external_parameters;
  in.builder_id = context.builder_id;
  in.builder_version = kVersion;
  in.invocation_id = context.invocation_id;
  const registry::ResolvedImage& image = result.image;
  in.dependencies.push_back({"image manifest", image.source_name, hex_of(image.manifest_digest)});
  in.dependencies.push_back({"image config", "", hex_of(image.config_digest)});
  for (std::size_t i = 0; i < image.manifest.layers.size(); ++i) {
    in.dependencies.push_back(
        {"layer " + std::to_string(i + 1), "", hex_of(image.manifest.layers[i].digest)});
  }
  add_file(in.dependencies, "kernel", spec.kernel.kernel);
  if (spec.kernel.config) {
    add_file(in.dependencies, "kernel config", *spec.kernel.config);
  }
  add_file(in.dependencies, "init", spec.init);
  if (spec.kernel.nsm_ko) {
    add_file(in.dependencies, "nsm.ko", *spec.kernel.nsm_ko);
  }
  return in;
}

std::string signed_provenance_line(const ProvenanceInputs& inputs, const EifSigner& signer) {
  const std::string statement = provenance_statement(inputs).dump();
  return dsse_json(dsse_sign(kInTotoPayloadType, as_bytes(statement), signer.key())) + "\n";
}

} // namespace oci2eif::pipeline
