// An EIF as an OCI 1.1 artifact (docs/oci-artifacts.md): an image manifest whose artifactType
// says "EIF", whose config is the OCI empty descriptor and whose one layer is the EIF file, with
// the EIF's measurements as annotations so that a registry listing (the referrers of the source
// image) shows the PCRs without a download. Also the referrers fallback of OCI distribution 1.1
// for registries without the referrers API: an image index under the tag "sha256-<hex>" of the
// subject. Pure functions on JSON text; the requests are registry_pusher.hpp's.
#pragma once

#include "core/bytes.hpp"
#include "core/pcr.hpp"
#include "registry/manifest.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::registry {

namespace eif_artifact {
inline constexpr const char* kArtifactType = "application/vnd.oci2eif.eif.v1";
inline constexpr const char* kLayerType = "application/vnd.oci2eif.eif.layer.v1";
// The OCI empty descriptor: the two-byte blob "{}" (image-spec 1.1, manifest.md).
inline constexpr const char* kEmptyType = "application/vnd.oci.empty.v1+json";
inline constexpr const char* kEmptyBlob = "{}";
inline constexpr const char* kEmptyDigest =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
inline constexpr const char* kTitle = "org.opencontainers.image.title";
inline constexpr const char* kPcrPrefix = "com.oci2eif.pcr"; // + "0", "1", "2", "8"
inline constexpr const char* kArch = "com.oci2eif.arch";
inline constexpr const char* kVersion = "com.oci2eif.version";
} // namespace eif_artifact

// The provenance of an EIF as a referrer of the EIF artifact: the DSSE envelope of
// provenance.intoto.jsonl as the one layer, typed as cosign and in-toto type attestations, and
// the predicate type annotated (as BuildKit annotates its attestations) so that listings can
// tell SLSA provenance from other envelopes.
namespace provenance_artifact {
inline constexpr const char* kArtifactType = "application/vnd.dsse.envelope.v1+json";
inline constexpr const char* kLayerType = "application/vnd.dsse.envelope.v1+json";
inline constexpr const char* kPredicateTypeKey = "in-toto.io/predicate-type";
inline constexpr const char* kFileName = "provenance.intoto.jsonl";
} // namespace provenance_artifact

// An artifact of one layer and the empty config: an EIF, or the provenance of one.
struct Artifact {
  std::string artifact_type = eif_artifact::kArtifactType;
  Descriptor layer; // digest and size of the file, its name as the title annotation
  std::map<std::string, std::string> annotations; // of the manifest (eif_annotations())
  std::optional<Descriptor> subject; // EIF: the source image's manifest, if known; provenance:
                                     // the EIF artifact's
};

// The manifest annotations of an EIF: its PCRs as lower-case hex (PCR8 only when signed), its
// architecture and the oci2eif version that pushed it.
std::map<std::string, std::string> eif_annotations(const Measurements& measurements,
                                                   const std::string& arch,
                                                   const std::string& version);

// The artifact's image manifest, compact JSON with sorted keys: the same inputs always give the
// same bytes, so a re-push yields the same digest.
std::string artifact_manifest_json(const Artifact& artifact);

// The provenance artifact for the DSSE envelope line `envelope` (provenance.intoto.jsonl), a
// referrer of the EIF artifact `eif_manifest`.
Artifact provenance_artifact_of(const std::string& envelope, const Descriptor& eif_manifest);

// Parses an artifact manifest from untrusted bytes; throws Unsupported when its artifactType is
// not `artifact_type`, Corrupt when it is not a manifest with exactly one layer of `layer_type`.
// `what` names it in errors.
Artifact parse_artifact(ByteView json, const std::string& artifact_type,
                        const std::string& layer_type, const std::string& what);
// parse_artifact() of an EIF artifact (eif_artifact::kArtifactType, kLayerType).
Artifact parse_eif_artifact(ByteView json, const std::string& what);

// The PCRs annotations state, "PCR0" → hex, in the shape `describe`/`verify` use.
std::map<std::string, std::string> annotated_pcrs(const std::map<std::string, std::string>& a);

// The referrers fallback tag of `digest` ("sha256:ab…" → "sha256-ab…"); throws InvalidInput for
// a malformed digest.
std::string referrers_tag(const std::string& digest);

// One entry of a referrers index.
struct Referrer {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
};

// The empty referrers index, as JSON.
std::string empty_referrers_index();
// `index_json` with `referrer` added, or nothing when an entry of that digest is already there
// (other entries are kept as they are). Throws Corrupt naming `what` for a malformed index.
std::optional<std::string> add_referrer(const std::string& index_json, const Referrer& referrer,
                                        const std::string& what);
// The entries of a referrers index (the referrers API's answer or the fallback tag's) whose
// artifactType is `artifact_type`. Throws Corrupt naming `what` for a malformed index.
std::vector<Referrer> parse_referrers(ByteView index_json, const std::string& artifact_type,
                                      const std::string& what);

} // namespace oci2eif::registry
