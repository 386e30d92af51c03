// The root filesystem of an image as data: every path with its type, mode, owner, link target
// and a reference to its content in a ContentSpool. Built by LayerFlattener, read by the ramdisk
// writer and the rootfs listing.
//
// Paths are canonical: relative to the root, '/'-separated, with no empty, "." or ".."
// components and no leading or trailing '/'. The root itself is "". A std::map keeps them in
// bytewise order, which is the canonical output order and puts every parent before its children.
#pragma once

#include "core/content_spool.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace oci2eif {

enum class FileType { Regular, Directory, Symlink, CharDevice, BlockDevice, Fifo };

struct FileNode {
  FileType type = FileType::Regular;
  std::uint32_t mode = 0; // permission bits including setuid/setgid/sticky (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string link_target; // symlinks
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;
  ContentRef content;           // regular files
  std::uint64_t link_group = 0; // non-zero: hardlinks of one another share the value
};

class FileTree {
public:
  using Map = std::map<std::string, FileNode>;

  // Starts with a root directory, mode 0755, owned by 0:0.
  FileTree();

  const FileNode* find(const std::string& path) const;
  FileNode* find(const std::string& path);
  // Adds or replaces `path`. Replacing a directory by a directory keeps its children (only the
  // metadata changes); replacing it by anything else removes the whole subtree first.
  // REQUIRES: the parent exists and is a directory.
  void put(const std::string& path, FileNode node);
  // Removes `path` and everything below it (no-op if absent). The root cannot be removed.
  void remove(const std::string& path);
  // Removes everything below `dir`, keeping `dir`.
  void remove_children(const std::string& dir);

  const Map& entries() const { return nodes_; } // includes the root ("")
  std::size_t size() const { return nodes_.size(); }

private:
  Map nodes_;
};

// Splits and cleans a tar entry name into a canonical path: strips leading "/" and "./",
// drops "." and empty components, and applies ".." lexically. Returns false if ".." would climb
// above the root (the name escapes it).
bool canonical_path(std::string_view name, std::string& out);

// Joins a canonical directory and a canonical relative path.
std::string join_path(const std::string& dir, const std::string& rest);

// Parent of a canonical path ("" for top-level entries) and its last component.
std::string parent_path(const std::string& path);
std::string base_name(const std::string& path);

} // namespace oci2eif
