#include "registry/blob_cache.hpp"

#include "core/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

namespace oci2eif::registry {

BlobDownload::BlobDownload(std::filesystem::path path, std::uint64_t expected_size,
                           std::string subject)
    : path_(std::move(path)), expected_size_(expected_size), subject_(std::move(subject)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw_errno("cannot create " + path_.string());
  }
}

BlobDownload::~BlobDownload() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  std::error_code ec;
  std::filesystem::remove(path_, ec); // a no-op once the cache renamed it
}

void BlobDownload::append(ByteView data) {
  if (received_ + data.size() > expected_size_) {
    throw Error(ErrorCode::Corrupt, subject_ + ": the registry sent more than the " +
                                        std::to_string(expected_size_) +
                                        " bytes its descriptor states");
  }
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot write " + path_.string());
    }
    done += static_cast<std::size_t>(n);
  }
  hasher_.write(data);
  received_ += data.size();
}

void BlobDownload::restart() {
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
    throw_errno("cannot truncate " + path_.string());
  }
  hasher_ = Hasher(HashAlgorithm::Sha256);
  received_ = 0;
}

void BlobDownload::finish(const std::string& digest) {
  if (received_ != expected_size_) {
    throw Error(ErrorCode::Corrupt, subject_ + ": received " + std::to_string(received_) +
                                        " bytes, the descriptor states " +
                                        std::to_string(expected_size_));
  }
  const std::string actual = "sha256:" + to_hex(hasher_.finish());
  if (actual != digest) {
    throw Error(ErrorCode::DigestMismatch,
                subject_ + ": digest mismatch: the bytes received hash to " + actual);
  }
  if (::fsync(fd_) != 0) {
    throw_errno("cannot fsync " + path_.string());
  }
}

std::filesystem::path default_blob_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "oci2eif";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : "/") / ".cache" / "oci2eif";
}

} // namespace oci2eif::registry
