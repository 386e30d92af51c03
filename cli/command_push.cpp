// oci2eif push: an EIF into a registry as an OCI 1.1 artifact (docs/oci-artifacts.md), its PCRs
// measured here from the file (never taken from a caller), linked to the image it was built from.
#include "cli/artifact_options.hpp"
#include "cli/commands.hpp"
#include "core/digest.hpp"
#include "core/eif_format.hpp"
#include "core/eif_reader.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "pipeline/version.hpp"
#include "registry/eif_artifact.hpp"
#include "registry/registry_pusher.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

namespace oci2eif::cli {
namespace {

// The subject's manifest descriptor. Referrers are listed per repository, so the subject must
// live in the artifact's.
registry::Descriptor resolve_subject(const registry::Reference& target, const std::string& subject,
                                     const registry::RegistryOptions& options) {
  const registry::Reference ref = registry::Reference::parse(subject);
  if (ref.domain != target.domain || ref.repository != target.repository) {
    throw Error(ErrorCode::InvalidInput, "push: --subject " + subject +
                                             " is not in the artifact's repository " +
                                             target.domain + "/" + target.repository +
                                             " (registries list referrers per repository)");
  }
  const registry::Descriptor d = manifest_descriptor(ref, options);
  return {d.media_type, d.digest, d.size, {}, {}};
}

// The artifact for the EIF at `path`: its layer and the annotations measured from it.
registry::EifArtifact artifact_of(const std::filesystem::path& path) {
  FileSource in(path);
  const EifInfo info = read_eif(in, path.string());
  registry::EifArtifact a;
  a.eif.media_type = registry::eif_artifact::kLayerType;
  a.eif.digest = sha256_file_digest(path);
  a.eif.size = info.size;
  a.eif.annotations[registry::eif_artifact::kTitle] = path.filename().string();
  a.annotations = registry::eif_annotations(info.measurements, std::string(arch_name(info.arch)),
                                            pipeline::kVersion);
  return a;
}

} // namespace

void run_push(const ArtifactOptions& o, std::ostream& out, std::ostream& log) {
  const registry::Reference ref = registry::Reference::parse(o.reference);
  const registry::RegistryOptions options = artifact_registry_options(o, log);
  registry::EifArtifact artifact = artifact_of(o.eif);
  if (o.subject) {
    artifact.subject = resolve_subject(ref, *o.subject, options);
  }
  const registry::PushedArtifact pushed =
      registry::push_eif_artifact(ref, options, artifact, o.eif);
  registry::Reference at = ref;
  at.digest = pushed.digest;
  nlohmann::ordered_json j{{"digest", pushed.digest},
                           {"reference", at.to_string()},
                           {"subject", nullptr},
                           {"blobs_uploaded", pushed.blobs_uploaded},
                           {"referrers", nullptr}};
  if (artifact.subject) {
    j["subject"] = artifact.subject->digest;
    j["referrers"] =
        pushed.referrers_api ? "api" : "tag " + registry::referrers_tag(artifact.subject->digest);
  }
  out << j.dump(2) << "\n";
}

} // namespace oci2eif::cli
