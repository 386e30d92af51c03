// Writing to a registry over the OCI distribution API, for EIF artifacts (eif_artifact.hpp):
//   HEAD /v2/<repo>/blobs/<digest>                   a blob already there is not sent again
//   POST /v2/<repo>/blobs/uploads/  → 202 Location   then one monolithic
//   PUT  <Location>?digest=<digest>                   streaming the file (never held in memory)
//   PUT  /v2/<repo>/manifests/<tag|digest>            the manifest, or a referrers index
//   GET  /v2/<repo>/referrers/<digest>                the referrers API, when the registry has it
// through the origin (mirrors are for pulls) with the pull's TLS trust, credentials, token
// handling (scope pull,push) and retry policy (registry_endpoints.hpp).
#pragma once

#include "core/bytes.hpp"
#include "registry/eif_artifact.hpp"
#include "registry/http_client.hpp"
#include "registry/manifest_resolver.hpp"
#include "registry/registry_endpoints.hpp"
#include "registry/registry_source.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace oci2eif::registry {

class RegistryPusher {
public:
  // Requests go to `ref`'s repository; `options.push` says whether to ask for push access.
  RegistryPusher(const Reference& ref, RegistryOptions options);

  // Whether the repository has blob `digest`.
  bool has_blob(const std::string& digest);
  // Uploads blob `d` from `body` unless the repository has it; returns whether it uploaded.
  bool ensure_blob(const Descriptor& d, const StreamedBody& body);
  // Stores `bytes` of `media_type` under `ref` (a tag, or the digest of `bytes`).
  void put_manifest(const std::string& ref, const std::string& media_type,
                    const std::string& bytes);
  // The manifest or index under `ref` (type and bytes), or nothing when there is none.
  std::optional<std::pair<std::string, Bytes>> find_manifest(const std::string& ref);
  // The referrers API's index for `digest`, or nothing when the registry has no referrers API
  // (404, or an answer that is not an index).
  std::optional<Bytes> referrers_api(const std::string& digest);
  // "registry R, repository P": the subject of errors.
  std::string where() const;

private:
  // One request to the origin, retried as the pull policy says; a 2xx answer's body (at most
  // kMaxManifestSize) goes to `body` when given.
  HttpResponse send(const HttpRequest& req, const std::string& what, std::string* body);
  std::string url(const std::string& path) const;

  Reference ref_;
  RegistryOptions opt_;
  RegistryEndpoints endpoints_;
  ManifestResolver manifests_;
};

struct PushedArtifact {
  std::string digest; // of the artifact manifest
  std::uint64_t size = 0;
  int blobs_uploaded = 0;     // 0 when the registry had every blob already
  bool referrers_api = false; // the registry lists referrers itself (no fallback tag written)
};

// The body of an upload read from `path` (`size` bytes), or from `bytes` (kept alive by it).
StreamedBody file_body(const std::filesystem::path& path, std::uint64_t size);
StreamedBody memory_body(std::string bytes);

// Pushes `artifact` (its layer read from `layer`) to `ref` and, when it has a subject, makes it
// findable as a referrer: through the registry's referrers API, else by adding it to the
// fallback tag's index. A `ref` without tag or digest stores the manifest by its digest.
PushedArtifact push_artifact(const Reference& ref, const RegistryOptions& options,
                             const Artifact& artifact, const StreamedBody& layer);

// The artifacts of `artifact_type` whose subject is `subject_digest` in `ref`'s repository: the
// referrers API's answer, else the fallback tag's index (none when neither exists).
std::vector<Referrer> artifact_referrers(const Reference& ref, const RegistryOptions& options,
                                         const std::string& subject_digest,
                                         const std::string& artifact_type);

} // namespace oci2eif::registry
