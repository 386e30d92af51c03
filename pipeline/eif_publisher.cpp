#include "pipeline/eif_publisher.hpp"

#include "core/digest.hpp"
#include "core/eif_format.hpp"
#include "core/file_stream.hpp"
#include "pipeline/version.hpp"

namespace oci2eif::pipeline {

CheckedEif check_eif(const std::filesystem::path& path, std::optional<Measurements> measured) {
  FileSource file(path);
  DigestingSource in(file);
  EifReadOptions options;
  options.measured = std::move(measured);
  CheckedEif eif{path, read_eif(in, path.string(), options), ""};
  eif.sha256 = in.digest_of_all();
  return eif;
}

registry::Artifact eif_artifact_of(const CheckedEif& eif) {
  registry::Artifact a;
  a.layer.media_type = registry::eif_artifact::kLayerType;
  a.layer.digest = eif.sha256;
  a.layer.size = eif.info.size;
  a.layer.annotations[registry::eif_artifact::kTitle] = eif.path.filename().string();
  a.annotations = registry::eif_annotations(eif.info.measurements,
                                            std::string(arch_name(eif.info.arch)), kVersion);
  return a;
}

PushedEif push_eif(const std::filesystem::path& eif, registry::Artifact artifact,
                   const EifPush& push, const registry::RegistryOptions& options) {
  artifact.subject = push.subject;
  PushedEif out;
  out.eif = registry::push_artifact(push.target, options, artifact,
                                    registry::file_body(eif, artifact.layer.size));
  registry::Reference at = push.target;
  at.digest = out.eif.digest;
  out.reference = at.to_string();
  if (push.subject) {
    out.subject_digest = push.subject->digest;
  }
  if (push.provenance) {
    const registry::Descriptor manifest{
        registry::media_type::kOciManifest, out.eif.digest, out.eif.size, {}, {}};
    registry::Reference by_digest = push.target;
    by_digest.tag.clear();
    by_digest.digest.clear(); // stored under its own digest: no tag for it to move
    out.provenance = registry::push_artifact(
        by_digest, options, registry::provenance_artifact_of(*push.provenance, manifest),
        registry::memory_body(*push.provenance));
  }
  return out;
}

std::optional<registry::Descriptor> push_subject(const ImageRef& image,
                                                 const registry::ResolvedImage& resolved,
                                                 const registry::Reference& target) {
  if (image.kind != SourceKind::Registry || !resolved.root) {
    return std::nullopt;
  }
  const registry::Reference source = registry::Reference::parse(image.location);
  if (source.domain != target.domain || source.repository != target.repository) {
    return std::nullopt;
  }
  return registry::Descriptor{
      resolved.root->media_type, resolved.root->digest, resolved.root->size, {}, {}};
}

namespace {

nlohmann::ordered_json referrers_json(const registry::PushedArtifact& pushed,
                                      const std::string& subject_digest) {
  return pushed.referrers_api ? "api" : "tag " + registry::referrers_tag(subject_digest);
}

} // namespace

nlohmann::ordered_json pushed_json(const PushedEif& p) {
  nlohmann::ordered_json j{{"digest", p.eif.digest}, {"reference", p.reference},
                           {"subject", nullptr},     {"blobs_uploaded", p.eif.blobs_uploaded},
                           {"referrers", nullptr},   {"provenance", nullptr}};
  if (p.subject_digest) {
    j["subject"] = *p.subject_digest;
    j["referrers"] = referrers_json(p.eif, *p.subject_digest);
  }
  if (p.provenance) {
    j["provenance"] = {{"digest", p.provenance->digest},
                       {"referrers", referrers_json(*p.provenance, p.eif.digest)}};
  }
  return j;
}

} // namespace oci2eif::pipeline
