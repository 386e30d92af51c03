// An ImageSource that pulls from a registry over the OCI distribution API (v2):
//   GET /v2/<repo>/manifests/<tag|digest>   with an Accept header listing every manifest type
//   GET /v2/<repo>/blobs/<digest>           streamed into the blob cache, verified
// with authentication (auth.hpp), redirects followed by hand (Authorization dropped when the
// origin changes), retries with exponential backoff and jitter on connection errors, 408, 429
// and 5xx (honouring Retry-After), Range resumption of a blob after a dropped connection,
// mirrors tried before the origin (falling back when one fails), and an image's layers fetched
// into the cache a few at a time (fetch_layers()), or behind a build that reads each layer as it
// arrives (start_fetching_layers(), arriving_blobs.hpp). A pull can be stopped from outside at any
// point (RegistryOptions::interrupt) and counts what it pulled (RegistryOptions::counters).
#pragma once

#include "registry/blob_cache.hpp"
#include "registry/credentials.hpp"
#include "registry/image_source.hpp"
#include "registry/pull_counters.hpp"
#include "registry/reference.hpp"
#include "registry/transfer_progress.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::registry {

// A pull-through mirror for one registry (docker's registry-mirrors, containers' [[mirror]]):
// tried first, in order; the origin is asked when a mirror fails or lacks the content.
struct Mirror {
  std::string domain; // the Reference domain it mirrors, e.g. "docker.io", "127.0.0.1:5000"
  std::string url;    // "http(s)://host[:port]", no path
};

// Parses "DOMAIN=URL" (the --registry-mirror syntax); throws InvalidInput saying what is wrong.
Mirror parse_mirror(const std::string& spec);

struct RegistryOptions {
  std::vector<std::string> insecure_registries; // HOST[:PORT] reached over plain HTTP
  std::vector<Mirror> mirrors;                  // those for the reference's domain are used
  std::string extra_ca_file;                    // trusted in addition to certs.d and the system
  std::optional<Credentials> credentials;       // else from the docker config
  std::filesystem::path docker_config;          // default: default_docker_config_path()
  std::filesystem::path cache_dir;              // default: default_blob_cache_dir()
  bool push = false; // ask for push access too (token scope pull,push): `oci2eif push`
  std::uint64_t cache_max_bytes = 10ULL << 30;
  // The blob cache's shared second level (BlobCacheOptions::shared); may be null.
  std::shared_ptr<SharedBlobStore> shared;
  int max_attempts = 5;             // per request, counting the first
  long backoff_base_ms = 250;       // doubled per attempt, with jitter, capped at 10 s
  long blob_timeout_ms = 0;         // one blob request; 0: none (stall detection still applies)
  long manifest_timeout_ms = 60000; // one manifest request, or the /v2/ check (whole request)
  long stall_seconds = 30;          // a transfer under 1 KiB/s for this long is aborted
  // Layers fetch_layers() downloads into the cache at once, before they are applied in order.
  // Skipped when the image is larger than the cache bound (layers are then fetched as needed).
  int parallel_downloads = 3;
  std::function<void(const std::string&)> log;
  // Called while requests and downloads run (also from download threads, about once a second at
  // least), between retries and while waiting for another build's download; what it throws
  // (e.g. Error(Cancelled)) stops the pull, leaves the cache without a partial blob, and is
  // rethrown. Empty: the pull is never stopped from outside.
  Interrupt interrupt;
  // Where bytes pulled and cache hits and misses are counted (the daemon's metrics); may be null.
  // Must outlive the source.
  PullCounters* counters = nullptr;
  // Told how each blob download advances (labelled as fetch_layers() names the layer); may be
  // empty.
  ProgressObserver progress;
};

class RegistrySource : public ImageSource {
public:
  // The digest the reference resolved to (known after root()).
  virtual std::string resolved_digest() const = 0;
  virtual const Reference& reference() const = 0;
  // The raw bytes and media type of a manifest or index already fetched (for export).
  virtual std::pair<std::string, Bytes> manifest_bytes(const std::string& digest) = 0;
  // The cached file of a blob, fetched if needed.
  virtual std::filesystem::path blob_file(const Descriptor& descriptor) = 0;
};

std::unique_ptr<RegistrySource> open_registry(const Reference& reference,
                                              const RegistryOptions& options);

// Whether plain HTTP is used for `reference`: listed as insecure, or a loopback address.
bool use_plain_http(const Reference& reference, const std::vector<std::string>& insecure);

// The CA files docker and containers read for `domain`: /etc/docker/certs.d/<domain>/ca.crt,
// /etc/containers/certs.d/<domain>/ca.crt (those that exist), under `root` (for tests).
std::vector<std::filesystem::path> certs_d_cas(const std::string& domain,
                                               const std::filesystem::path& root = "/");

} // namespace oci2eif::registry
