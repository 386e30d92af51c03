#include "registry/directory_blob_cache.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace oci2eif::registry {
namespace {

std::atomic<unsigned> g_temp_counter{0};

// How often a waiter that can be interrupted tries the lock again.
constexpr auto kLockPoll = std::chrono::milliseconds(100);

// An exclusive flock() held for the object's lifetime; `on_wait` runs if another holder makes
// us wait. With an `interrupt`, the wait polls so that a stopped build stops waiting.
class FileLock {
public:
  FileLock(const std::filesystem::path& path, const std::function<void()>& on_wait,
           const Interrupt& interrupt) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw_errno("cannot open lock file " + path.string());
    }
    try {
      if (try_lock(path)) {
        return;
      }
      on_wait();
      if (!interrupt) {
        lock(path, LOCK_EX);
        return;
      }
      for (interrupt(); !try_lock(path); interrupt()) {
        std::this_thread::sleep_for(kLockPoll);
      }
    } catch (...) {
      ::close(fd_);
      throw;
    }
  }
  ~FileLock() { ::close(fd_); } // closing releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  bool try_lock(const std::filesystem::path& path) { return lock(path, LOCK_EX | LOCK_NB); }
  // flock(operation), retried on EINTR; false if a non-blocking attempt found it held.
  bool lock(const std::filesystem::path& path, int operation) {
    while (::flock(fd_, operation) != 0) {
      if (errno == EWOULDBLOCK) {
        return false;
      }
      if (errno != EINTR) {
        throw_errno("cannot lock " + path.string());
      }
    }
    return true;
  }

  int fd_ = -1;
};

} // namespace

DirectoryBlobCache::DirectoryBlobCache(std::filesystem::path dir, std::uint64_t max_bytes, Log log,
                                       Interrupt interrupt, std::shared_ptr<SharedBlobStore> shared)
    : dir_(std::move(dir)), max_bytes_(max_bytes), log_(std::move(log)),
      interrupt_(std::move(interrupt)), shared_(std::move(shared)) {
  for (const char* sub : {"blobs/sha256", "tmp", "locks"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir_ / sub, ec);
    if (ec) {
      throw Error(code_for(ec),
                  "cannot create cache directory " + (dir_ / sub).string() + ": " + ec.message());
    }
  }
}

std::filesystem::path DirectoryBlobCache::blob_path(const std::string& digest) const {
  validate_digest(digest, "blob cache");
  return dir_ / "blobs" / "sha256" / digest.substr(7);
}

bool DirectoryBlobCache::contains(const std::string& digest) const {
  std::error_code ec;
  return std::filesystem::is_regular_file(blob_path(digest), ec);
}

bool DirectoryBlobCache::verify(const std::filesystem::path& path, const std::string& digest,
                                std::uint64_t size) {
  try {
    FileSource file(path);
    VerifyingSource check(file, digest, size, path.string());
    InterruptingSource checked(check, interrupt_);
    drain(checked);
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0); // mark as recently used
    return true;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Cancelled || e.code() == ErrorCode::Timeout) {
      throw; // the build was stopped (hashing a local file fails no other way with these)
    }
    log_("cached blob " + digest + " is corrupt (" + e.what() + "); removing and fetching again");
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return false;
  }
}

std::filesystem::path DirectoryBlobCache::get(const std::string& digest, std::uint64_t size,
                                              const std::string& subject, const Fetcher& fetch) {
  const std::filesystem::path path = blob_path(digest);
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && verify(path, digest, size)) {
    return path;
  }
  const std::string hex = digest.substr(7);
  FileLock lock(
      dir_ / "locks" / (hex + ".lock"),
      [&] { log_("blob " + digest + " is being fetched by another build; waiting for it"); },
      interrupt_);
  // Another process may have fetched it while we waited for the lock.
  if (std::filesystem::is_regular_file(path, ec) && verify(path, digest, size)) {
    return path;
  }
  const std::filesystem::path temp =
      dir_ / "tmp" /
      (hex + "." + std::to_string(::getpid()) + "." + std::to_string(g_temp_counter++));
  bool from_registry = false;
  {
    BlobDownload download(temp, size, subject);
    if (!fill_from_shared(download, digest)) {
      from_registry = true;
      fetch(download);
      download.finish(digest);
    }
    std::filesystem::rename(temp, path);
  }
  fsync_directory(path.parent_path());
  if (from_registry) {
    offer_to_shared(digest, path);
  }
  evict(path);
  return path;
}

// True when the shared store filled `download` with the verified blob; otherwise `download`
// is left empty for the fetcher (a failure of the shared store is logged, never fatal).
bool DirectoryBlobCache::fill_from_shared(BlobDownload& download, const std::string& digest) {
  if (!shared_) {
    return false;
  }
  try {
    if (shared_->fetch(digest, download)) {
      download.finish(digest);
      return true;
    }
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Cancelled || e.code() == ErrorCode::Timeout) {
      throw;
    }
    log_("shared cache copy of blob " + digest + " refused (" + e.what() +
         "); fetching it from the registry");
  }
  download.restart();
  return false;
}

void DirectoryBlobCache::offer_to_shared(const std::string& digest,
                                         const std::filesystem::path& path) {
  if (!shared_) {
    return;
  }
  try {
    shared_->put(digest, path);
  } catch (const std::exception& e) {
    log_("blob " + digest + " could not be stored in the shared cache (" + e.what() +
         "); continuing with the local copy");
  }
}

void DirectoryBlobCache::evict(const std::filesystem::path& keep) {
  struct Entry {
    std::filesystem::path path;
    std::uint64_t size;
    std::int64_t used_ns;
  };
  std::vector<Entry> entries;
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "blobs" / "sha256", ec)) {
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    const std::int64_t used =
        std::max<std::int64_t>(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                               st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec);
    entries.push_back({e.path(), static_cast<std::uint64_t>(st.st_size), used});
    total += static_cast<std::uint64_t>(st.st_size);
  }
  if (total <= max_bytes_) {
    return;
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used_ns < b.used_ns; });
  for (const Entry& e : entries) {
    if (total <= max_bytes_) {
      break;
    }
    if (e.path == keep) {
      continue;
    }
    std::filesystem::remove(e.path, ec);
    if (!ec) {
      total -= e.size;
      log_("cache: evicted " + e.path.filename().string() + " (" + std::to_string(e.size) +
           " bytes, least recently used)");
    }
  }
}

std::unique_ptr<BlobCache> open_blob_cache(const BlobCacheOptions& options) {
  return std::make_unique<DirectoryBlobCache>(
      options.dir.empty() ? default_blob_cache_dir() : options.dir, options.max_bytes, options.log,
      options.interrupt, options.shared);
}

} // namespace oci2eif::registry
