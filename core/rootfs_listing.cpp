#include "core/rootfs_listing.hpp"

#include <cstdio>

namespace oci2eif {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out;
}

const char* type_name(FileType t) {
  switch (t) {
  case FileType::Regular:
    return "file";
  case FileType::Directory:
    return "dir";
  case FileType::Symlink:
    return "symlink";
  case FileType::CharDevice:
    return "char";
  case FileType::BlockDevice:
    return "block";
  case FileType::Fifo:
    return "fifo";
  }
  return "file";
}

} // namespace

void write_rootfs_listing(const FileTree& tree, ByteSink& out) {
  for (const auto& [path, n] : tree.entries()) {
    if (path.empty()) {
      continue;
    }
    const bool file = n.type == FileType::Regular;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", n.type == FileType::Symlink ? 0777u : n.mode & 07777);
    std::string target = "-";
    if (n.type == FileType::Symlink) {
      target = escape(n.link_target);
    } else if (n.type == FileType::CharDevice || n.type == FileType::BlockDevice) {
      target = std::to_string(n.rdev_major) + "," + std::to_string(n.rdev_minor);
    }
    const std::string line =
        escape(path) + "\t" + type_name(n.type) + "\t" + mode + "\t" + std::to_string(n.uid) + ":" +
        std::to_string(n.gid) + "\t" + std::to_string(file ? n.content.size : 0) + "\t" +
        (file ? to_hex(n.content.sha256) : std::string("-")) + "\t" + target + "\n";
    out.write(as_bytes(line));
  }
}

} // namespace oci2eif
