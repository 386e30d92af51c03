// What the enclave's root holds beyond the image's layers, added once to the flattened tree so
// that the application ramdisk, `oci2eif rootfs` and `--rootfs-listing` all show the same thing:
//
// - the mount points init needs (kEnclaveMountPoints), directories 0755 owned by 0:0, where the
//   image lacks them;
// - the working directory (WORKDIR) with every missing parent, 0755 owned by 0:0: Docker
//   creates a missing WORKDIR that way when the container starts (moby's
//   Container.SetupWorkingDirectory); doing it at build time keeps the EIF reproducible.
//   A component that exists but is not a directory (a symlink, a file) is left alone: what it
//   leads to is decided when init enters it.
#pragma once

#include "core/file_tree.hpp"

#include <string>
#include <vector>

namespace oci2eif {

inline constexpr const char* kEnclaveMountPoints[] = {"dev", "proc", "run", "sys", "tmp", "var"};

struct EnclaveTreeChanges {
  std::vector<std::string> added_mount_points; // e.g. "tmp"
  std::vector<std::string> added_workdir;      // the WORKDIR directories created, parents first
  std::string workdir_blocked_by;              // a non-directory on the WORKDIR's path, or ""
};

// Adds the above to `tree`. `workdir` is the image's WORKDIR ("" = none): an absolute path,
// canonicalised here; one that climbs above the root is refused (InvalidInput).
EnclaveTreeChanges complete_enclave_tree(FileTree& tree, const std::string& workdir);

} // namespace oci2eif
