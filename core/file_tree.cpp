#include "core/file_tree.hpp"

#include "core/error.hpp"

#include <vector>

namespace oci2eif {

FileTree::FileTree() {
  FileNode root;
  root.type = FileType::Directory;
  root.mode = 0755;
  nodes_.emplace("", root);
}

const FileNode* FileTree::find(const std::string& path) const {
  const auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

FileNode* FileTree::find(const std::string& path) {
  const auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

void FileTree::put(const std::string& path, FileNode node) {
  auto it = nodes_.find(path);
  if (it != nodes_.end()) {
    const bool both_dirs =
        it->second.type == FileType::Directory && node.type == FileType::Directory;
    if (!both_dirs) {
      remove_children(path);
    }
    it->second = std::move(node);
    return;
  }
  nodes_.emplace(path, std::move(node));
}

void FileTree::remove_children(const std::string& dir) {
  // Children of "a" are the keys in ["a/", "a0"): '0' is the byte after '/'. For the root,
  // every key but "" is a child.
  if (dir.empty()) {
    nodes_.erase(std::next(nodes_.begin()), nodes_.end());
    return;
  }
  nodes_.erase(nodes_.lower_bound(dir + "/"), nodes_.lower_bound(dir + "0"));
}

void FileTree::remove(const std::string& path) {
  if (path.empty()) {
    remove_children(path);
    return;
  }
  remove_children(path);
  nodes_.erase(path);
}

bool canonical_path(std::string_view name, std::string& out) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) {
      end = name.size();
    }
    const std::string_view part = name.substr(start, end - start);
    if (part == "..") {
      if (parts.empty()) {
        return false;
      }
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  out.clear();
  for (std::string_view p : parts) {
    if (!out.empty()) {
      out += '/';
    }
    out += p;
  }
  return true;
}

std::string join_path(const std::string& dir, const std::string& rest) {
  if (dir.empty()) {
    return rest;
  }
  if (rest.empty()) {
    return dir;
  }
  return dir + "/" + rest;
}

std::string parent_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace oci2eif
