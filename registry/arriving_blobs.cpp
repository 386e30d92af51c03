#include "registry/arriving_blobs.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <unistd.h>

namespace oci2eif::registry {
namespace {

// How often a waiting reader consults its Interrupt.
constexpr auto kInterruptPoll = std::chrono::milliseconds(100);

// The raw bytes of an arriving blob, in order; checked by the VerifyingSource around it.
class ArrivingReader final : public ByteSource {
public:
  ArrivingReader(ArrivingBlobs& blobs, const Descriptor& d,
                 std::function<std::filesystem::path()> final_file, Interrupt interrupt,
                 std::string subject)
      : blobs_(blobs), digest_(d.digest), size_(d.size), final_file_(std::move(final_file)),
        interrupt_(std::move(interrupt)), subject_(std::move(subject)) {}
  ~ArrivingReader() override {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  ArrivingReader(const ArrivingReader&) = delete;
  ArrivingReader& operator=(const ArrivingReader&) = delete;

  std::uint64_t size() const override { return size_; }
  std::string describe() const override { return subject_; }

  std::size_t read(std::span<std::uint8_t> out) override {
    if (out.empty()) {
      return 0;
    }
    if (offset_ >= size_) {
      blobs_.await_end(digest_, interrupt_); // the download's own verdict, and its record
      return 0;
    }
    for (;;) {
      const ArrivingBlobs::Readable now = blobs_.await_bytes(digest_, offset_, interrupt_);
      if (now.fd < 0) {
        return read_final_file(out);
      }
      adopt(now.fd);
      if (now.available <= offset_) { // ended: every byte of a verified download is in its file
        throw Error(ErrorCode::Corrupt, subject_ + ": the download ended after " +
                                            std::to_string(now.available) + " of " +
                                            std::to_string(size_) + " bytes");
      }
      const std::uint64_t want = std::min<std::uint64_t>(out.size(), now.available - offset_);
      const ssize_t n = ::pread(fd_, out.data(), want, static_cast<off_t>(offset_));
      if (n < 0 && errno != EINTR) {
        throw_errno(subject_ + ": cannot read the download in progress");
      }
      if (n < 0 || blobs_.generation(digest_) != now.generation) {
        continue; // a restart truncated the file under this read: read the new bytes
      }
      if (n == 0) {
        throw Error(ErrorCode::Io, subject_ + ": the download in progress is shorter than the " +
                                       std::to_string(now.available) + " bytes written to it");
      }
      offset_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }

private:
  // Keeps a descriptor of its own of the file the download writes (it outlives the rename into
  // the cache, and eviction).
  void adopt(int fd) {
    if (fd_ < 0) {
      fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (fd_ < 0) {
        throw_errno(subject_ + ": cannot open the download in progress");
      }
    }
  }

  // The download ended and no byte came through `blobs_`: the cache's verified file.
  std::size_t read_final_file(std::span<std::uint8_t> out) {
    if (!file_) { // (offset_ is 0: a byte read from the download would have given a file)
      file_ = std::make_unique<FileSource>(final_file_());
    }
    const std::size_t n = file_->read(out);
    offset_ += n;
    return n;
  }

  ArrivingBlobs& blobs_;
  std::string digest_;
  std::uint64_t size_;
  std::function<std::filesystem::path()> final_file_;
  Interrupt interrupt_;
  std::string subject_;
  std::uint64_t offset_ = 0;
  int fd_ = -1;
  std::unique_ptr<FileSource> file_;
};

// The reader and the check of what it read, owned together.
class VerifiedArrivingBlob final : public ByteSource {
public:
  VerifiedArrivingBlob(ArrivingBlobs& blobs, const Descriptor& d, std::string subject,
                       std::function<std::filesystem::path()> final_file, Interrupt interrupt)
      : reader_(blobs, d, std::move(final_file), std::move(interrupt), subject),
        verify_(reader_, d.digest, d.size, std::move(subject)) {}
  std::uint64_t size() const override { return verify_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override { return verify_.read(out); }
  std::string describe() const override { return verify_.describe(); }

private:
  ArrivingReader reader_;
  VerifyingSource verify_;
};

} // namespace

ArrivingBlobs::ArrivingBlobs(std::set<std::string> digests) : digests_(std::move(digests)) {
  for (const std::string& d : digests_) {
    blobs_[d];
  }
}

ArrivingBlobs::~ArrivingBlobs() {
  for (auto& [digest, blob] : blobs_) {
    if (blob.fd >= 0) {
      ::close(blob.fd);
    }
  }
}

void ArrivingBlobs::appended(const std::string& digest, const std::filesystem::path& file,
                             std::uint64_t total) {
  if (!fetches(digest)) {
    return;
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  Arriving& blob = blobs_[digest];
  if (blob.ended) {
    return; // fetched again after its download (evicted meanwhile): not the bytes readers read
  }
  if (blob.fd < 0) {
    // Opened by the download thread, before the cache can rename the file.
    blob.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (blob.fd < 0) {
      throw_errno("cannot open " + file.string() + " to read it while it downloads");
    }
  }
  blob.available = total;
  changed_.notify_all();
}

void ArrivingBlobs::restarting(const std::string& digest) {
  if (!fetches(digest)) {
    return;
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  Arriving& blob = blobs_[digest];
  if (blob.ended) {
    return;
  }
  ++blob.generation;
  blob.available = 0;
}

void ArrivingBlobs::ended(const std::string& digest, std::exception_ptr error) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (error) {
    failed_[digest] = error;
    if (!first_error_) {
      first_error_ = error;
    }
  }
  blobs_[digest].ended = true;
  changed_.notify_all();
}

void ArrivingBlobs::end_the_rest() {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [digest, blob] : blobs_) {
    if (!blob.ended && first_error_) {
      failed_.emplace(digest, first_error_);
    }
    blob.ended = true;
  }
  changed_.notify_all();
}

void ArrivingBlobs::stop_readers() {
  const std::lock_guard<std::mutex> lock(mutex_);
  readers_stopped_ = true;
  changed_.notify_all();
}

void ArrivingBlobs::wait(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done,
                         const Interrupt& interrupt) {
  while (!done()) {
    if (readers_stopped_) {
      throw Error(ErrorCode::Cancelled, "reading stopped: the build failed");
    }
    if (!interrupt) {
      changed_.wait(lock);
      continue;
    }
    if (!changed_.wait_for(lock, kInterruptPoll, [&] { return readers_stopped_ || done(); })) {
      lock.unlock();
      interrupt();
      lock.lock();
    }
  }
}

void ArrivingBlobs::rethrow_if_failed(const std::string& digest) const {
  const auto it = failed_.find(digest);
  if (it != failed_.end()) {
    std::rethrow_exception(it->second);
  }
}

void ArrivingBlobs::await_end(const std::string& digest, const Interrupt& interrupt) {
  std::unique_lock<std::mutex> lock(mutex_);
  Arriving& blob = blobs_.at(digest);
  wait(
      lock, [&] { return blob.ended; }, interrupt);
  rethrow_if_failed(digest);
}

ArrivingBlobs::Readable ArrivingBlobs::await_bytes(const std::string& digest, std::uint64_t offset,
                                                   const Interrupt& interrupt) {
  std::unique_lock<std::mutex> lock(mutex_);
  Arriving& blob = blobs_.at(digest);
  wait(
      lock, [&] { return blob.ended || blob.available > offset; }, interrupt);
  if (blob.ended) {
    rethrow_if_failed(digest);
  }
  return {blob.fd, blob.available, blob.generation, blob.ended};
}

std::uint64_t ArrivingBlobs::generation(const std::string& digest) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return blobs_.at(digest).generation;
}

std::unique_ptr<ByteSource> open_arriving_blob(ArrivingBlobs& blobs, const Descriptor& d,
                                               std::string subject,
                                               std::function<std::filesystem::path()> final_file,
                                               Interrupt interrupt) {
  return std::make_unique<VerifiedArrivingBlob>(blobs, d, std::move(subject), std::move(final_file),
                                                std::move(interrupt));
}

} // namespace oci2eif::registry
