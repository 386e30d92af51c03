// A content-addressed blob cache shared by builds and processes:
//
//   <dir>/blobs/sha256/<hex>   complete, verified blobs (mtime = last use, for LRU eviction)
//   <dir>/tmp/<hex>.<pid>.<n>  downloads in progress (removed on failure)
//   <dir>/locks/<hex>.lock     flock()ed while a process fetches <hex>, so two processes
//                              needing the same blob download it once
//
// A blob enters the cache only after its size and sha256 matched the descriptor (temp file,
// fsync, rename, fsync of the directory). A hit is re-hashed before use: a corrupt file is
// deleted and fetched again. After an insert, least recently used blobs are evicted until the
// total is under the bound (the blob just used is kept even if it alone exceeds it).
//
// The cache's Interrupt (a stopped build) is consulted while a hit is re-hashed and while get()
// waits for another process's download; what it throws leaves get() with the cache unchanged
// (a download in progress is removed with its temporary file, never renamed into place).
#pragma once

#include "core/bytes.hpp"
#include "core/interrupt.hpp"
#include "core/sha.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
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

class BlobCache {
public:
  using Fetcher = std::function<void(BlobDownload&)>;
  using Log = std::function<void(const std::string&)>;

  BlobCache(std::filesystem::path dir, std::uint64_t max_bytes, Log log, Interrupt interrupt = {});

  // The path of blob `digest` (of `size` bytes), verified. On a miss (or a corrupt hit) `fetch`
  // fills a BlobDownload under the blob's lock. `subject` names the blob in errors.
  std::filesystem::path get(const std::string& digest, std::uint64_t size,
                            const std::string& subject, const Fetcher& fetch);

  // Whether a complete blob file is present (not verified).
  bool contains(const std::string& digest) const;
  const std::filesystem::path& dir() const { return dir_; }

  // The default location: $XDG_CACHE_HOME/oci2eif, else $HOME/.cache/oci2eif.
  static std::filesystem::path default_dir();

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
