// How a local image's files are opened. `oci2eif build` opens the paths its user gives. The daemon
// reads local images for remote callers, so it opens them beneath the directory the operator
// allowed: through a handle of that directory and openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS), so no `..`, absolute symlink or /proc magic link can lead outside, and
// a link planted below the directory after the request was accepted cannot either: the check and
// the open are one system call.
#pragma once

#include "core/file_stream.hpp"

#include <filesystem>
#include <memory>

namespace oci2eif::registry {

// `path` relative to `root` if it lies below it as written (both absolute, lexically normal;
// `root` itself gives "."), else "": the test the daemon makes at the door and again here.
std::filesystem::path path_below(const std::filesystem::path& path,
                                 const std::filesystem::path& root);

class LocalFiles {
public:
  // Opens any path, as given.
  LocalFiles() = default;
  // Opens only paths beneath `root` (an absolute directory, which is opened now; a symlink in
  // the root's own path is the operator's and is followed). Throws Io naming it if it cannot be.
  static LocalFiles beneath(const std::filesystem::path& root);

  // `path` is absolute. Throws InvalidInput if it is not below the root or leads outside it,
  // NotFound if it does not exist, InvalidInput if it is not a regular file.
  std::unique_ptr<FileSource> open_file(const std::filesystem::path& path) const;
  // An O_RDONLY descriptor of the regular file `path` (the caller owns it), checked as above.
  int open_fd(const std::filesystem::path& path) const;
  // Whether `path` exists as a regular file (following links only where open_file() would);
  // throws InvalidInput as open_file() for a path that leads outside the root.
  bool is_regular_file(const std::filesystem::path& path) const;
  // Throws InvalidInput as open_file() would if `path` leads outside the root; a path that
  // does not exist (yet) passes.
  void check_path(const std::filesystem::path& path) const;

private:
  struct Root;
  // An O_PATH descriptor of `path` (beneath the root when there is one); -1 with errno set.
  int open_path(const std::filesystem::path& path, int flags) const;
  [[noreturn]] void refuse(const std::filesystem::path& path, int error) const;

  std::shared_ptr<const Root> root_; // null: any path
};

} // namespace oci2eif::registry
