#include "core/file_stream.hpp"

#include "core/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace oci2eif {

FileSource::FileSource(const std::filesystem::path& path) : path_(path) {
  // O_NONBLOCK so that naming a FIFO fails the regular-file check instead of hanging.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw_errno("cannot open " + path.string());
  }
  adopt(fd);
}

FileSource::FileSource(int fd, const std::filesystem::path& path) : path_(path) {
  adopt(fd);
}

void FileSource::adopt(int fd) {
  fd_ = fd;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    throw_errno("cannot stat " + path_.string());
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(ErrorCode::InvalidInput, path_.string() + ": not a regular file");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

FileSource::~FileSource() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::size_t FileSource::read(std::span<std::uint8_t> out) {
  for (;;) {
    const ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      throw_errno("cannot read " + path_.string());
    }
  }
}

std::size_t FileSource::read_at(std::uint64_t offset, std::span<std::uint8_t> out) {
  for (;;) {
    const ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      throw_errno("cannot read " + path_.string());
    }
  }
}

Bytes read_small_file(const std::filesystem::path& path, std::size_t max_size) {
  FileSource in(path);
  return read_small_file(in, max_size);
}

Bytes read_small_file(FileSource& in, std::size_t max_size) {
  if (in.size() > max_size) {
    throw Error(ErrorCode::InvalidInput, in.describe() + ": " + std::to_string(in.size()) +
                                             " bytes is larger than the limit of " +
                                             std::to_string(max_size) + " bytes");
  }
  Bytes data(static_cast<std::size_t>(in.size()));
  read_exact(in, data, in.describe());
  return data;
}

void write_all_at(int fd, ByteView data, std::uint64_t offset, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot write " + path.string());
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw_errno("cannot open directory " + dir.string());
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    throw_errno("cannot fsync directory " + dir.string());
  }
}

FileSink::FileSink(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw_errno("cannot create " + path.string());
  }
}

FileSink::~FileSink() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void FileSink::write(ByteView data) {
  write_all_at(fd_, data, written_, path_);
  written_ += data.size();
}

void FileSink::close() {
  if (fd_ >= 0 && ::close(fd_) != 0) {
    fd_ = -1;
    throw_errno("cannot close " + path_.string());
  }
  fd_ = -1;
}

namespace {
constexpr std::string_view kTempMarker = ".tmp-";
constexpr std::size_t kTempSuffixLength = 6; // mkostemp's XXXXXX
} // namespace

bool is_atomic_temp_name(std::string_view filename) {
  const std::size_t tail = kTempMarker.size() + kTempSuffixLength;
  return filename.size() > tail + 1 && filename.front() == '.' &&
         filename.substr(filename.size() - tail, kTempMarker.size()) == kTempMarker;
}

AtomicFileWriter::AtomicFileWriter(std::filesystem::path path) : path_(std::move(path)) {
  const std::filesystem::path dir = path_.parent_path();
  std::string pattern =
      (dir / ("." + path_.filename().string() + std::string(kTempMarker) + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  fd_ = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd_ < 0) {
    throw_errno("cannot create a temporary file next to " + path_.string());
  }
  temp_path_ = buf.data();
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void AtomicFileWriter::write(ByteView data) {
  write_all_at(fd_, data, written_, temp_path_);
  written_ += data.size();
}

void AtomicFileWriter::write_at(std::uint64_t offset, ByteView data) {
  if (offset > written_ || data.size() > written_ - offset) {
    throw Error(ErrorCode::Internal, "AtomicFileWriter::write_at past the end of the file");
  }
  write_all_at(fd_, data, offset, temp_path_);
}

void AtomicFileWriter::commit() {
  if (::fchmod(fd_, 0644) != 0) {
    throw_errno("cannot chmod " + temp_path_.string());
  }
  if (::fsync(fd_) != 0) {
    throw_errno("cannot fsync " + temp_path_.string());
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    throw_errno("cannot close " + temp_path_.string());
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp_path_.c_str());
    errno = saved;
    throw_errno("cannot rename " + temp_path_.string() + " to " + path_.string());
  }
  fsync_directory(path_.parent_path());
}

} // namespace oci2eif
