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
// The cache's Interrupt (a stopped build) is consulted while a hit is re-hashed and while get()
// waits for another process's download; what it throws leaves get() with the cache unchanged
// (a download in progress is removed with its temporary file, never renamed into place).
#pragma once

#include "registry/blob_cache.hpp"

namespace oci2eif::registry {

class DirectoryBlobCache final : public BlobCache {
public:
  DirectoryBlobCache(std::filesystem::path dir, std::uint64_t max_bytes, Log log,
                     Interrupt interrupt = {});

  std::filesystem::path get(const std::string& digest, std::uint64_t size,
                            const std::string& subject, const Fetcher& fetch) override;
  bool contains(const std::string& digest) const override;

  const std::filesystem::path& dir() const { return dir_; }

private:
  std::filesystem::path blob_path(const std::string& digest) const;
  bool verify(const std::filesystem::path& path, const std::string& digest, std::uint64_t size);
  void evict(const std::filesystem::path& keep);

  std::filesystem::path dir_;
  std::uint64_t max_bytes_;
  Log log_;
  Interrupt interrupt_;
};

} // namespace oci2eif::registry
