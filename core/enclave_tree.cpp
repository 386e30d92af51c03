#include "core/enclave_tree.hpp"

#include "core/error.hpp"

namespace oci2eif {
namespace {

FileNode root_owned_directory() {
  FileNode n;
  n.type = FileType::Directory;
  n.mode = 0755;
  return n;
}

} // namespace

EnclaveTreeChanges complete_enclave_tree(FileTree& tree, const std::string& workdir) {
  EnclaveTreeChanges changes;
  for (const char* dir : kEnclaveMountPoints) {
    if (tree.find(dir) == nullptr) {
      tree.put(dir, root_owned_directory());
      changes.added_mount_points.emplace_back(dir);
    }
  }
  std::string path;
  if (workdir.empty()) {
    return changes;
  }
  if (!canonical_path(workdir, path)) {
    throw Error(ErrorCode::InvalidInput,
                "working directory `" + workdir + "` climbs above the image's root");
  }
  std::string so_far;
  for (std::size_t start = 0; start < path.size();) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    so_far = path.substr(0, end);
    start = end + 1;
    const FileNode* node = tree.find(so_far);
    if (node == nullptr) {
      tree.put(so_far, root_owned_directory());
      changes.added_workdir.push_back(so_far);
    } else if (node->type != FileType::Directory) {
      changes.workdir_blocked_by = so_far;
      break;
    }
  }
  return changes;
}

} // namespace oci2eif
