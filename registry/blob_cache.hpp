// BlobCache: content-addressed storage of the registry blobs builds need (docs/ARCHITECTURE.md,
// "Seams"), shared by builds and processes. get() hands out a verified local file for a digest,
// fetching it through the caller's Fetcher on a miss; a blob enters the cache only after its
// size and sha256 matched the descriptor, so a hit is always the content its digest names.
//
// The embedded default is a directory (directory_blob_cache.hpp); a shared object store can sit
// behind the same calls as a second level. The conformance suite
// (tests/unit/test_registry_blob_cache.cpp) states what every implementation must do.
#pragma once

#include "core/bytes.hpp"
#include "core/interrupt.hpp"
#include "core/sha.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace oci2eif::registry {

// The temporary file a fetcher writes a blob into. It refuses bytes beyond the expected size.
class BlobDownload {
public:
  BlobDownload(std::filesystem::path path, std::uint64_t expected_size, std::string subject);
  ~BlobDownload();
  BlobDownload(const BlobDownload&) = delete;
  BlobDownload& operator=(const BlobDownload&) = delete;

  void append(ByteView data);
  // Discards what was written (the server ignored a Range request and sent it all again).
  void restart();
  std::uint64_t received() const { return received_; }
  // Checks size and digest, fsyncs; throws DigestMismatch naming the subject.
  void finish(const std::string& digest);
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
  std::uint64_t expected_size_;
  std::string subject_;
  int fd_ = -1;
  std::uint64_t received_ = 0;
  Hasher hasher_{HashAlgorithm::Sha256};
};

class SharedBlobStore;

class BlobCache {
public:
  // Fills the download with the blob's bytes (throws what the transfer throws).
  using Fetcher = std::function<void(BlobDownload&)>;
  using Log = std::function<void(const std::string&)>;

  virtual ~BlobCache() = default;

  // A local file holding blob `digest` (of `size` bytes), verified against both. On a miss (or
  // a hit found corrupt, which is logged, dropped and fetched again) `fetch` fills a
  // BlobDownload; if it throws, or the bytes do not match (DigestMismatch or Corrupt naming
  // `subject`), get() throws that and the cache holds nothing for the digest. Concurrent calls
  // for one digest, from threads or processes, fetch it once. The cache's interrupt (a stopped
  // build) may end get() with Cancelled or Timeout, leaving the cache as it was. Throws
  // InvalidInput for a digest that is not "sha256:<64 hex>". The file stays valid while the
  // build uses it (eviction keeps the blob last returned).
  virtual std::filesystem::path get(const std::string& digest, std::uint64_t size,
                                    const std::string& subject, const Fetcher& fetch) = 0;

  // Whether a complete blob is present (not verified: get() verifies). A cheap hint, for
  // planning downloads.
  virtual bool contains(const std::string& digest) const = 0;
};

struct BlobCacheOptions {
  std::filesystem::path dir;   // the local directory (default_blob_cache_dir() if empty)
  std::uint64_t max_bytes = 0; // bound on the total; least recently used blobs go first
  BlobCache::Log log;          // one line per notable event (eviction, corrupt hit, waiting)
  Interrupt interrupt;         // consulted while get() hashes or waits; may be empty
  // The second level shared by replicas, asked on a local miss before the fetcher; may be null.
  // (Initialized so that callers listing only the first four members are not warned.)
  std::shared_ptr<SharedBlobStore> shared = nullptr;
};

// The construction point of every cache a pull uses: today a DirectoryBlobCache.
std::unique_ptr<BlobCache> open_blob_cache(const BlobCacheOptions& options);

// The default location: $XDG_CACHE_HOME/oci2eif, else $HOME/.cache/oci2eif.
std::filesystem::path default_blob_cache_dir();

} // namespace oci2eif::registry
