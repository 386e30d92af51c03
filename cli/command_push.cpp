// oci2eif push: an EIF into a registry as an OCI 1.1 artifact (docs/oci-artifacts.md), its PCRs
// measured here from the file (never taken from a caller), linked to the image it was built from.
#include "cli/artifact_options.hpp"
#include "cli/commands.hpp"
#include "core/dsse.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/provenance.hpp"
#include "pipeline/eif_publisher.hpp"

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

// The DSSE envelope of a provenance.intoto.jsonl file, checked to be one (its signature is
// the verifier's business: `oci2eif verify`).
std::string read_provenance_line(const std::filesystem::path& path) {
  const Bytes bytes = read_small_file(path, kMaxProvenanceSize);
  parse_dsse(bytes, path.string());
  return std::string(as_chars(bytes));
}

} // namespace

void run_push(const ArtifactOptions& o, std::ostream& out, std::ostream& log) {
  pipeline::EifPush push;
  push.target = registry::Reference::parse(o.reference);
  const registry::RegistryOptions options = artifact_registry_options(o, log);
  if (o.subject) {
    push.subject = resolve_subject(push.target, *o.subject, options);
  }
  if (o.provenance) {
    push.provenance = read_provenance_line(*o.provenance);
  }
  out << pipeline::pushed_json(
             pipeline::push_eif(o.eif, pipeline::eif_artifact_of(pipeline::check_eif(o.eif)), push,
                                options))
             .dump(2)
      << "\n";
}

} // namespace oci2eif::cli
