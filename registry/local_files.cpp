#include "registry/local_files.hpp"

#include "core/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace oci2eif::registry {

std::filesystem::path path_below(const std::filesystem::path& path,
                                 const std::filesystem::path& root) {
  std::filesystem::path relative = path.lexically_normal().lexically_relative(root);
  if (!path.is_absolute() || relative.empty() || *relative.begin() == "..") {
    return {};
  }
  return relative;
}

struct LocalFiles::Root {
  std::filesystem::path path;
  int fd = -1;
  ~Root() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

LocalFiles LocalFiles::beneath(const std::filesystem::path& root) {
  auto handle = std::make_shared<Root>();
  handle->path = root.lexically_normal();
  if (!handle->path.has_filename()) {
    handle->path = handle->path.parent_path(); // "/srv/images/" compares as "/srv/images"
  }
  handle->fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (handle->fd < 0) {
    throw_errno("cannot open the local image directory " + root.string());
  }
  LocalFiles files;
  files.root_ = std::move(handle);
  return files;
}

int LocalFiles::open_path(const std::filesystem::path& path, int flags) const {
  if (!root_) {
    return ::open(path.c_str(), flags | O_CLOEXEC);
  }
  const std::filesystem::path relative = path_below(path, root_->path);
  if (relative.empty()) {
    errno = EXDEV;
    return -1;
  }
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, root_->fd, relative.c_str(), &how, sizeof how);
  return static_cast<int>(fd);
}

void LocalFiles::refuse(const std::filesystem::path& path, int error) const {
  if (root_ && (error == EXDEV || error == ELOOP)) {
    throw Error(ErrorCode::InvalidInput, path.string() + ": leads outside " + root_->path.string() +
                                             ", the directory local images are read from "
                                             "(through `..`, an absolute or /proc link)");
  }
  if (root_ && error == ENOSYS) {
    throw Error(ErrorCode::Internal, path.string() + ": openat2() is not available (Linux 5.6 "
                                                     "or later, not blocked by seccomp, is "
                                                     "needed to read local images safely)");
  }
  errno = error;
  throw_errno("cannot open " + path.string());
}

int LocalFiles::open_fd(const std::filesystem::path& path) const {
  // O_NONBLOCK so that a FIFO fails FileSource's regular-file check instead of hanging.
  const int fd = open_path(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    refuse(path, errno);
  }
  return fd;
}

std::unique_ptr<FileSource> LocalFiles::open_file(const std::filesystem::path& path) const {
  return std::make_unique<FileSource>(open_fd(path), path);
}

bool LocalFiles::is_regular_file(const std::filesystem::path& path) const {
  const int fd = open_path(path, O_PATH);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return false;
    }
    refuse(path, errno);
  }
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  return regular;
}

void LocalFiles::check_path(const std::filesystem::path& path) const {
  const int fd = open_path(path, O_PATH);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != ENOENT && errno != ENOTDIR) {
    refuse(path, errno);
  }
}

} // namespace oci2eif::registry
