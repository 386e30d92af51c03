#include "core/content_spool.hpp"

#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/sha.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace oci2eif {
namespace {

constexpr std::size_t kChunk = 1 << 20;

// Copies `size` bytes of `in` to `write`, hashing them; returns the sha256.
template <typename Write>
std::array<std::uint8_t, 32> copy_hashed(ByteSource& in, std::uint64_t size, Write&& write,
                                         ContentDigests digests = ContentDigests::Sha256) {
  std::optional<Hasher> h;
  if (digests == ContentDigests::Sha256) {
    h.emplace(HashAlgorithm::Sha256);
  }
  Bytes buffer(static_cast<std::size_t>(std::min<std::uint64_t>(size, kChunk)));
  std::uint64_t left = size;
  while (left > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    const std::size_t n = in.read(std::span(buffer.data(), want));
    if (n == 0) {
      throw Error(ErrorCode::Corrupt, in.describe() + ": truncated: " + std::to_string(left) +
                                          " of " + std::to_string(size) + " bytes missing");
    }
    if (h) {
      h->write(ByteView(buffer.data(), n));
    }
    write(ByteView(buffer.data(), n));
    left -= n;
  }
  std::array<std::uint8_t, 32> digest{};
  if (!h) {
    return digest;
  }
  const Bytes d = h->finish();
  std::copy(d.begin(), d.end(), digest.begin());
  return digest;
}

class SpoolReader final : public ByteSource {
public:
  SpoolReader(int fd, ContentRef ref) : fd_(fd), ref_(ref) {}
  std::uint64_t size() const override { return ref_.size; }
  std::size_t read(std::span<std::uint8_t> out) override {
    const std::uint64_t left = ref_.size - pos_;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, out.size()));
    if (want == 0) {
      return 0;
    }
    for (;;) {
      const ssize_t n = ::pread(fd_, out.data(), want, static_cast<off_t>(ref_.offset + pos_));
      if (n > 0) {
        pos_ += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
      }
      if (n == 0) {
        throw Error(ErrorCode::Io, "content spool is shorter than expected");
      }
      if (errno != EINTR) {
        throw_errno("cannot read the content spool");
      }
    }
  }
  std::string describe() const override { return "content spool"; }

private:
  int fd_;
  ContentRef ref_;
  std::uint64_t pos_ = 0;
};

} // namespace

ContentRef MemorySpool::store(ByteSource& in, std::uint64_t size) {
  ContentRef ref;
  ref.offset = data_.size();
  ref.size = size;
  ref.sha256 =
      copy_hashed(in, size, [&](ByteView b) { data_.insert(data_.end(), b.begin(), b.end()); });
  return ref;
}

std::unique_ptr<ByteSource> MemorySpool::open(const ContentRef& ref) const {
  return std::make_unique<MemorySource>(
      ByteView(data_.data() + ref.offset, static_cast<std::size_t>(ref.size)), "content spool");
}

FileSpool::FileSpool(const std::filesystem::path& path, ContentDigests digests)
    : path_(path), digests_(digests) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw_errno("cannot create the content spool " + path.string());
  }
}

FileSpool::~FileSpool() {
  ::close(fd_);
  ::unlink(path_.c_str());
}

ContentRef FileSpool::store(ByteSource& in, std::uint64_t size) {
  ContentRef ref;
  ref.offset = end_;
  ref.size = size;
  std::uint64_t pos = end_;
  ref.sha256 = copy_hashed(
      in, size,
      [&](ByteView b) {
        write_all_at(fd_, b, pos, path_);
        pos += b.size();
      },
      digests_);
  end_ = pos;
  return ref;
}

std::unique_ptr<ByteSource> FileSpool::open(const ContentRef& ref) const {
  return std::make_unique<SpoolReader>(fd_, ref);
}

} // namespace oci2eif
