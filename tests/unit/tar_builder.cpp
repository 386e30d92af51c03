#include "tests/unit/tar_builder.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <stdexcept>

namespace oci2eif::test {

struct TarBuilder::Impl {
  archive* a = nullptr;
  Bytes out;
  bool truncate_after_header = false; // then the writer refuses further bytes
};

namespace {
la_ssize_t write_cb(archive*, void* client, const void* buf, size_t n);

archive_entry* make(const std::string& path, mode_t type, std::uint32_t mode) {
  archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, path.c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, mode);
  archive_entry_set_mtime(e, 1700000000, 0);
  return e;
}
} // namespace

namespace {
la_ssize_t write_cb(archive*, void* client, const void* buf, size_t n) {
  auto* impl = static_cast<TarBuilder::Impl*>(client);
  if (impl->truncate_after_header) {
    return -1; // stop libarchive from padding the declared size when it closes
  }
  const auto* p = static_cast<const std::uint8_t*>(buf);
  impl->out.insert(impl->out.end(), p, p + n);
  return static_cast<la_ssize_t>(n);
}
} // namespace

TarBuilder::TarBuilder() : impl_(new Impl) {
  impl_->a = archive_write_new();
  archive_write_set_format_pax(impl_->a);
  // Names are written as given (bytes), never converted through the C locale.
  archive_write_set_options(impl_->a, "hdrcharset=BINARY");
  archive_write_set_bytes_per_block(impl_->a, 0); // unbuffered: truncation tests see every byte
  archive_write_set_bytes_in_last_block(impl_->a, 1);
  archive_write_open(impl_->a, impl_, nullptr, write_cb, nullptr);
}

TarBuilder::~TarBuilder() {
  if (impl_->a != nullptr) {
    archive_write_free(impl_->a);
  }
  delete impl_;
}

namespace {
void put(archive* a, archive_entry* e, const std::string& content = "") {
  if (archive_write_header(a, e) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("tar builder: ") + archive_error_string(a));
  }
  if (!content.empty()) {
    archive_write_data(a, content.data(), content.size());
  }
  archive_entry_free(e);
}
} // namespace

TarBuilder& TarBuilder::file(const std::string& path, const std::string& content,
                             std::uint32_t mode, std::uint32_t uid, std::uint32_t gid) {
  archive_entry* e = make(path, AE_IFREG, mode);
  archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
  archive_entry_set_uid(e, uid);
  archive_entry_set_gid(e, gid);
  put(impl_->a, e, content);
  return *this;
}

TarBuilder& TarBuilder::dir(const std::string& path, std::uint32_t mode, std::uint32_t uid,
                            std::uint32_t gid) {
  archive_entry* e = make(path, AE_IFDIR, mode);
  archive_entry_set_uid(e, uid);
  archive_entry_set_gid(e, gid);
  put(impl_->a, e);
  return *this;
}

TarBuilder& TarBuilder::symlink(const std::string& path, const std::string& target) {
  archive_entry* e = make(path, AE_IFLNK, 0777);
  archive_entry_copy_symlink(e, target.c_str());
  put(impl_->a, e);
  return *this;
}

TarBuilder& TarBuilder::hardlink(const std::string& path, const std::string& target) {
  archive_entry* e = make(path, AE_IFREG, 0644);
  archive_entry_copy_hardlink(e, target.c_str());
  archive_entry_set_size(e, 0);
  put(impl_->a, e);
  return *this;
}

TarBuilder& TarBuilder::device(const std::string& path, bool block, std::uint32_t major,
                               std::uint32_t minor) {
  archive_entry* e = make(path, block ? AE_IFBLK : AE_IFCHR, 0660);
  archive_entry_set_rdevmajor(e, major);
  archive_entry_set_rdevminor(e, minor);
  put(impl_->a, e);
  return *this;
}

TarBuilder& TarBuilder::fifo(const std::string& path) {
  put(impl_->a, make(path, AE_IFIFO, 0644));
  return *this;
}

TarBuilder& TarBuilder::file_with_xattr(const std::string& path, const std::string& content) {
  archive_entry* e = make(path, AE_IFREG, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
  archive_entry_xattr_add_entry(e, "user.test", "v", 1);
  put(impl_->a, e, content);
  return *this;
}

TarBuilder& TarBuilder::truncated_file(const std::string& path, std::uint64_t declared_size) {
  archive_entry* e = make(path, AE_IFREG, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(declared_size));
  archive_write_header(impl_->a, e);
  archive_entry_free(e);
  impl_->truncate_after_header = true;
  return *this;
}

Bytes TarBuilder::finish() {
  if (impl_->truncate_after_header) {
    // Abandon the archive right after the header: no data, no end-of-archive blocks.
    Bytes partial = impl_->out;
    archive_write_free(impl_->a);
    impl_->a = nullptr;
    return partial;
  }
  archive_write_close(impl_->a);
  archive_write_free(impl_->a);
  impl_->a = nullptr;
  return impl_->out;
}

} // namespace oci2eif::test
