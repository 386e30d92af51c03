// oci2eif fetch: an EIF artifact back from a registry. The file is written only once the layer
// matched its digest and the PCRs measured from it equal those the manifest states, so a
// listing's PCRs (the annotations) can be trusted to describe what fetch gives.
#include "cli/artifact_options.hpp"
#include "cli/commands.hpp"
#include "core/eif_describe.hpp"
#include "core/eif_reader.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/pcr.hpp"
#include "core/provenance.hpp"
#include "registry/eif_artifact.hpp"
#include "registry/registry_pusher.hpp"

#include <array>
#include <ostream>

namespace oci2eif::cli {
namespace {

// Corrupt naming the first PCR on which the manifest and the file disagree.
void check_pcrs(const std::map<std::string, std::string>& stated,
                const std::map<std::string, std::string>& measured, const std::string& what) {
  for (const char* pcr : {"PCR0", "PCR1", "PCR2", "PCR8"}) {
    const auto s = stated.find(pcr);
    const auto m = measured.find(pcr);
    const std::string says = s == stated.end() ? "nothing" : s->second;
    const std::string is = m == measured.end() ? "nothing" : m->second;
    if (says != is) {
      throw Error(ErrorCode::Corrupt, what + ": the manifest states " + pcr + " " + says +
                                          " but the EIF measures " + is +
                                          "; the artifact was altered, not written");
    }
  }
}

void copy_atomically(const std::filesystem::path& from, const std::filesystem::path& to) {
  FileSource in(from);
  AtomicFileWriter writer(to);
  std::vector<std::uint8_t> buffer(1 << 20);
  for (std::size_t n; (n = in.read(buffer)) != 0;) {
    writer.write(ByteView(buffer.data(), n));
  }
  writer.commit();
}

// Writes the newest provenance attached to the EIF artifact `eif_manifest` to `to`; NotFound
// when there is none. Its signature and subject are `oci2eif verify`'s to check.
void fetch_provenance(registry::RegistrySource& source, const registry::Reference& ref,
                      const registry::RegistryOptions& options, const std::string& eif_manifest,
                      const std::filesystem::path& to) {
  const auto listed = registry::artifact_referrers(ref, options, eif_manifest,
                                                   registry::provenance_artifact::kArtifactType);
  const std::string what = "provenance of " + eif_manifest;
  if (listed.empty()) {
    throw Error(ErrorCode::NotFound, "no provenance is attached to " + eif_manifest + " in " +
                                         ref.domain + "/" + ref.repository);
  }
  const auto [type, manifest] = source.manifest_bytes(listed.back().digest);
  const registry::Artifact artifact = registry::parse_artifact(
      manifest, registry::provenance_artifact::kArtifactType,
      registry::provenance_artifact::kLayerType, what + " (" + listed.back().digest + ")");
  if (artifact.layer.size > kMaxProvenanceSize) {
    throw Error(ErrorCode::Corrupt, what + ": its layer is larger than " +
                                        std::to_string(kMaxProvenanceSize) + " bytes");
  }
  copy_atomically(source.blob_file(artifact.layer), to);
}

} // namespace

void run_fetch(const ArtifactOptions& o, std::ostream& out, std::ostream& log) {
  const registry::Reference ref = registry::Reference::parse(o.reference);
  const registry::RegistryOptions options = artifact_registry_options(o, log);
  const auto source = registry::open_registry(ref, options);
  const auto root = std::get<registry::Descriptor>(source->root());
  const std::string what = "artifact " + ref.to_string() + " (" + root.digest + ")";
  const auto [type, manifest] = source->manifest_bytes(root.digest);
  const registry::Artifact artifact = registry::parse_eif_artifact(manifest, what);
  // The blob cache checks the layer's digest and size before handing out its file.
  const std::filesystem::path blob = source->blob_file(artifact.layer);
  FileSource in(blob);
  const EifInfo info = read_eif(in, what + ", EIF layer " + artifact.layer.digest);
  check_pcrs(registry::annotated_pcrs(artifact.annotations), pcr_hex_map(info.measurements), what);
  if (o.provenance) {
    fetch_provenance(*source, ref, options, root.digest, *o.provenance);
  }
  copy_atomically(blob, o.output);
  out << measurements_document(info.measurements).dump(2) << "\n";
}

} // namespace oci2eif::cli
