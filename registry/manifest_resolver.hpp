// Manifest resolution for a registry pull: a tag or digest to the bytes of its manifest or
// index (GET /v2/<repo>/manifests/<ref> with an Accept header listing every manifest type),
// through the mirrors with fallback to the origin, retried, bounded in size, its media type
// taken from Content-Type or the document, and its digest checked against the reference and
// Docker-Content-Digest. Documents fetched are kept, so the index → platform manifest → config
// walk (image_source.hpp) and an export ask the registry once each.
#pragma once

#include "core/bytes.hpp"
#include "registry/image_source.hpp"
#include "registry/registry_endpoints.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <utility>

namespace oci2eif::registry {

class ManifestResolver {
public:
  // `ref`, `options` and `endpoints` must outlive it. Not thread-safe: the manifests of a pull
  // are fetched by one thread.
  ManifestResolver(const Reference& ref, const RegistryOptions& options,
                   RegistryEndpoints& endpoints);

  // Resolves the reference's tag or digest: the descriptor of its manifest or index.
  ImageRoot resolve();
  // The digest resolve() found; empty before.
  const std::string& resolved_digest() const { return resolved_; }

  // The media type and bytes of the manifest or index `ref` (a tag or a digest). Throws
  // Unsupported (schema 1, an unknown type), DigestMismatch, Corrupt (over kMaxManifestSize),
  // and what the registry's answers mean (NotFound, Unauthorized, RateLimited, Io, Timeout).
  std::pair<std::string, Bytes> fetch(const std::string& ref);

private:
  std::pair<std::string, Bytes> fetch_from(std::size_t index, const std::string& ref);
  // The body of a 200 answer to `req` at `ep`, retried as the policy says; `resp` is the answer.
  Bytes download(Endpoint& ep, const HttpRequest& req, const std::string& what, HttpResponse& resp);

  const Reference& ref_;
  const RegistryOptions& opt_;
  RegistryEndpoints& endpoints_;
  std::string resolved_;
  std::map<std::string, std::pair<std::string, Bytes>> manifests_; // by digest
};

} // namespace oci2eif::registry
