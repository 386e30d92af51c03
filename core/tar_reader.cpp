// Both classes drive libarchive through its read-callback interface: libarchive pulls bytes from
// our ByteSource, we pull entries and data from libarchive. Exceptions must not cross libarchive's
// C frames, so a callback stores one and the C++ side rethrows it after libarchive returns.
#include "core/tar_reader.hpp"

#include "core/error.hpp"
#include "core/gzip_source.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <exception>

namespace oci2eif {
namespace {

constexpr std::size_t kBufferSize = 256 * 1024;

// Owns a libarchive read handle fed from a ByteSource.
class ArchiveFeed {
public:
  ArchiveFeed(ByteSource& in, std::string name)
      : in_(in), name_(std::move(name)), buffer_(kBufferSize) {
    a_ = archive_read_new();
    if (a_ == nullptr) {
      throw Error(ErrorCode::Internal, "libarchive: out of memory");
    }
  }
  ~ArchiveFeed() { archive_read_free(a_); }
  ArchiveFeed(const ArchiveFeed&) = delete;
  ArchiveFeed& operator=(const ArchiveFeed&) = delete;

  archive* handle() { return a_; }
  const std::string& name() const { return name_; }

  void open() {
    check(archive_read_open(a_, this, nullptr, &ArchiveFeed::pull, nullptr), "not a valid archive");
  }

  // Throws the stored callback exception, or a Corrupt error with libarchive's message.
  int check(int rc, const char* what) {
    rethrow_pending();
    if (rc == ARCHIVE_FATAL || rc == ARCHIVE_FAILED) {
      const char* msg = archive_error_string(a_);
      throw Error(ErrorCode::Corrupt,
                  name_ + ": " + what + ": " + (msg != nullptr ? msg : "unknown libarchive error"));
    }
    return rc;
  }

  void rethrow_pending() {
    if (pending_) {
      std::exception_ptr e = pending_;
      pending_ = nullptr;
      std::rethrow_exception(e);
    }
  }

private:
  static la_ssize_t pull(archive* a, void* self_ptr, const void** out) {
    auto* self = static_cast<ArchiveFeed*>(self_ptr);
    try {
      const std::size_t n = self->in_.read(self->buffer_);
      *out = self->buffer_.data();
      return static_cast<la_ssize_t>(n);
    } catch (...) {
      self->pending_ = std::current_exception();
      archive_set_error(a, EIO, "read failed");
      return -1;
    }
  }

  ByteSource& in_;
  std::string name_;
  Bytes buffer_;
  archive* a_ = nullptr;
  std::exception_ptr pending_;
};

// Streams the data of libarchive's current entry.
class EntryData final : public ByteSource {
public:
  explicit EntryData(ArchiveFeed& feed) : feed_(feed) {}
  void reset(std::uint64_t size, std::string path) {
    size_ = size;
    path_ = std::move(path);
  }
  std::uint64_t size() const override { return size_; }
  std::size_t read(std::span<std::uint8_t> out) override {
    const la_ssize_t n = archive_read_data(feed_.handle(), out.data(), out.size());
    if (n < 0) {
      feed_.check(ARCHIVE_FATAL, ("reading " + path_).c_str());
    }
    feed_.rethrow_pending();
    return static_cast<std::size_t>(n);
  }
  std::string describe() const override { return feed_.name() + ": " + path_; }

private:
  ArchiveFeed& feed_;
  std::uint64_t size_ = 0;
  std::string path_;
};

TarEntryType type_of(archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) {
    return TarEntryType::Hardlink;
  }
  switch (archive_entry_filetype(e)) {
  case AE_IFDIR:
    return TarEntryType::Directory;
  case AE_IFLNK:
    return TarEntryType::Symlink;
  case AE_IFCHR:
    return TarEntryType::CharDevice;
  case AE_IFBLK:
    return TarEntryType::BlockDevice;
  case AE_IFIFO:
    return TarEntryType::Fifo;
  case AE_IFSOCK:
    return TarEntryType::Socket;
  default:
    return TarEntryType::File;
  }
}

std::string string_or_empty(const char* s) {
  return s != nullptr ? s : "";
}

} // namespace

struct TarReader::Impl {
  Impl(ByteSource& in, std::string name) : feed(in, std::move(name)), data(feed) {}
  ArchiveFeed feed;
  EntryData data;
};

TarReader::TarReader(ByteSource& in, std::string name)
    : impl_(std::make_unique<Impl>(in, std::move(name))) {
  archive* a = impl_->feed.handle();
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  impl_->feed.open();
}

TarReader::~TarReader() = default;

bool TarReader::next(TarEntry& out) {
  archive_entry* e = nullptr;
  const int rc = impl_->feed.check(archive_read_next_header(impl_->feed.handle(), &e),
                                   "reading the next tar header");
  if (rc == ARCHIVE_EOF) {
    return false;
  }
  // Prefer the UTF-8 name (pax headers), falling back to the raw bytes.
  const char* utf8 = archive_entry_pathname_utf8(e);
  out.path = utf8 != nullptr ? utf8 : string_or_empty(archive_entry_pathname(e));
  out.type = type_of(e);
  out.mode = static_cast<std::uint32_t>(archive_entry_perm(e)) & 07777;
  const la_int64_t uid = archive_entry_uid(e);
  const la_int64_t gid = archive_entry_gid(e);
  if (uid < 0 || gid < 0 || uid > 0xFFFFFFFFLL || gid > 0xFFFFFFFFLL) {
    throw Error(ErrorCode::Corrupt, impl_->feed.name() + ": " + out.path + ": owner " +
                                        std::to_string(uid) + ":" + std::to_string(gid) +
                                        " is out of range");
  }
  out.uid = static_cast<std::uint32_t>(uid);
  out.gid = static_cast<std::uint32_t>(gid);
  const la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  out.size = size > 0 ? static_cast<std::uint64_t>(size) : 0;
  out.link_target.clear();
  if (out.type == TarEntryType::Hardlink) {
    const char* h = archive_entry_hardlink_utf8(e);
    out.link_target = h != nullptr ? h : string_or_empty(archive_entry_hardlink(e));
    out.size = 0; // a hardlink entry carries no data of its own in a layer
  } else if (out.type == TarEntryType::Symlink) {
    const char* s = archive_entry_symlink_utf8(e);
    out.link_target = s != nullptr ? s : string_or_empty(archive_entry_symlink(e));
  }
  out.rdev_major = static_cast<std::uint32_t>(archive_entry_rdevmajor(e));
  out.rdev_minor = static_cast<std::uint32_t>(archive_entry_rdevminor(e));
  out.has_xattrs = archive_entry_xattr_count(e) > 0;
  impl_->data.reset(out.type == TarEntryType::File ? out.size : 0, out.path);
  return true;
}

ByteSource& TarReader::data() {
  return impl_->data;
}

namespace {

// zstd through libarchive's "raw" format with its zstd filter: one pseudo-entry holding the
// decompressed bytes. (gzip has its own, faster GzipSource.)
class ZstdDecompressor final : public ByteSource {
public:
  ZstdDecompressor(ByteSource& in, std::string name) : feed_(in, std::move(name)) {
    archive* a = feed_.handle();
    archive_read_support_filter_zstd(a);
    archive_read_support_format_raw(a);
    feed_.open();
    archive_entry* e = nullptr;
    const int rc = feed_.check(archive_read_next_header(a, &e), "decompressing");
    at_end_ = rc == ARCHIVE_EOF;
    const int filters = archive_filter_count(a);
    if (!at_end_ && filters < 2) { // only the "none" filter bid: the data is not compressed
      throw Error(ErrorCode::Corrupt,
                  feed_.name() + ": expected zstd data, but the blob is not in that format");
    }
  }
  std::uint64_t size() const override { return kUnknownSize; }
  std::size_t read(std::span<std::uint8_t> out) override {
    if (at_end_) {
      return 0;
    }
    const la_ssize_t n = archive_read_data(feed_.handle(), out.data(), out.size());
    if (n < 0) {
      feed_.check(ARCHIVE_FATAL, "decompressing");
    }
    feed_.rethrow_pending();
    at_end_ = n == 0;
    return static_cast<std::size_t>(n);
  }
  std::string describe() const override { return feed_.name(); }

private:
  ArchiveFeed feed_;
  bool at_end_ = false;
};

class PassThrough final : public ByteSource {
public:
  explicit PassThrough(ByteSource& in) : in_(in) {}
  std::uint64_t size() const override { return in_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override { return in_.read(out); }
  std::string describe() const override { return in_.describe(); }

private:
  ByteSource& in_;
};

} // namespace

std::unique_ptr<ByteSource> decompressing_source(ByteSource& in, Compression compression,
                                                 std::string name) {
  if (compression == Compression::None) {
    return std::make_unique<PassThrough>(in);
  }
  if (compression == Compression::Gzip) {
    return std::make_unique<GzipSource>(in, std::move(name));
  }
  return std::make_unique<ZstdDecompressor>(in, std::move(name));
}

} // namespace oci2eif
