// A finished build's EIF pushed to a registry as an OCI 1.1 artifact (docs/oci-artifacts.md),
// and its signed provenance pushed as a referrer of that artifact, for `oci2eif push`,
// `oci2eif build --push` and the service's `push` option alike. The artifact's annotations are
// measured from the file itself, never taken from a caller.
#pragma once

#include "core/eif_reader.hpp"
#include "core/pcr.hpp"
#include "pipeline/image_reference.hpp"
#include "registry/eif_artifact.hpp"
#include "registry/image_source.hpp"
#include "registry/reference.hpp"
#include "registry/registry_pusher.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace oci2eif::pipeline {

struct EifPush {
  registry::Reference target;                  // where the EIF artifact goes (a tag)
  std::optional<registry::Descriptor> subject; // the image it was built from, same repository
  std::optional<std::string> provenance;       // a provenance.intoto.jsonl line to attach
};

struct PushedEif {
  std::string reference; // target@digest
  registry::PushedArtifact eif;
  std::optional<registry::PushedArtifact> provenance;
  std::optional<std::string> subject_digest;
};

// An EIF as one read of its file found it: checked as read_eif() checks, and hashed whole. A
// build that has just written the file passes `measured` (EifReadOptions::measured: its PCRs
// are taken, not hashed again). One read, because a service build's EIF is named by its
// SHA-256 three times (artifact store, registry blob, provenance) and is a GB or more.
struct CheckedEif {
  std::filesystem::path path;
  EifInfo info;
  std::string sha256; // "sha256:<hex>" of the whole file
};
CheckedEif check_eif(const std::filesystem::path& path,
                     std::optional<Measurements> measured = std::nullopt);

// The EIF artifact for `eif`: its layer (digest, size, file name as the title) and the
// annotations measured from it.
registry::Artifact eif_artifact_of(const CheckedEif& eif);

// Pushes the EIF at `eif` (whose artifact eif_artifact_of() made) as `push` says, then its
// provenance (stored by digest, subject: the EIF artifact). Registry errors are thrown naming
// the registry and repository.
PushedEif push_eif(const std::filesystem::path& eif, registry::Artifact artifact,
                   const EifPush& push, const registry::RegistryOptions& options);

// The subject of an EIF built from `image` (resolved as `resolved`) and pushed to `target`: the
// image's manifest or index when it comes from `target`'s registry repository; nothing otherwise
// (registries list referrers per repository).
std::optional<registry::Descriptor> push_subject(const ImageRef& image,
                                                 const registry::ResolvedImage& resolved,
                                                 const registry::Reference& target);

// {"reference", "digest", "subject", "blobs_uploaded", "referrers", "provenance"}: what `push`
// prints and the service publishes as push.json.
nlohmann::ordered_json pushed_json(const PushedEif& pushed);

} // namespace oci2eif::pipeline
