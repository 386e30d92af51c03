// DirectoryBlobCache: the BlobCache of one machine, a directory shared by builds and processes:
//
//   <dir>/blobs/sha256/<hex>   complete, verified blobs (mtime = last use, for LRU eviction)
//   <dir>/tmp/<hex>.<pid>.<n>  downloads in progress (removed on failure)
//   <dir>/locks/<hex>.lock     flock()ed while a process fetches <hex>, so two processes
//                              needing the same blob download it once
//
// A blob enters the cache by temp file, fsync, rename, fsync of the directory. A hit is
// re-hashed before use: a corrupt file is deleted and fetched again. After an insert, least
// recently used blobs are evicted until the total is under the bound (the blob just used is
// kept even if it alone exceeds it).
//
// With a SharedBlobStore (the replicas' second level), a local miss asks it before the fetcher;
// its bytes are verified like a registry's, and a shared copy that fails (corrupt, truncated,
// unreachable) is logged and ignored: the fetcher is used. A blob fetched from the registry is
// then offered to the shared store; a failed put is logged, not fatal.
//
// The cache's Interrupt (a stopped build) is consulted while a hit is re-hashed and while get()
// waits for another process's download; what it throws leaves get() with the cache unchanged
// (a download in progress is removed with its temporary file, never renamed into place).
#pragma once

#include "registry/blob_cache.hpp"
#include "registry/shared_blob_store.hpp"

namespace oci2eif::registry {

class DirectoryBlobCache final : public BlobCache {
public:
  DirectoryBlobCache(std::filesystem::path dir, std::uint64_t max_bytes, Log log,
                     Interrupt interrupt = {}, std::shared_ptr<SharedBlobStore> shared = {});

  std::filesystem::path get(const std::string& digest, std::uint64_t size,
                            const std::string& subject, const Fetcher& fetch) override;
  bool contains(const std::string& digest) const override;

  const std::filesystem::path& dir() const { return dir_; }

private:
  std::filesystem::path blob_path(const std::string& digest) const;
  bool verify(const std::filesystem::path& path, const std::string& digest, std::uint64_t size);
  void evict(const std::filesystem::path& keep);
  bool fill_from_shared(BlobDownload& download, const std::string& digest);
  void offer_to_shared(const std::string& digest, const std::filesystem::path& path);

  std::filesystem::path dir_;
  std::uint64_t max_bytes_;
  Log log_;
  Interrupt interrupt_;
  std::shared_ptr<SharedBlobStore> shared_;
};

} // namespace oci2eif::registry
