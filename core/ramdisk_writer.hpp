// The two ramdisks of an enclave image, as deterministic newc cpio archives.
//
// Bootstrap ramdisk (PCR1 covers it): `dev/`, `init` (0755), and `nsm.ko` (0755) if given.
//
// Application ramdisk (PCR2 covers it), the layout nitro-cli uses and the enclave's init reads
// (docs/init.md):
//   cmd        argv, one element per line; NUL-terminated elements if one holds a line break
//   env        environment, KEY=VALUE, the same way
//   rootfs/…   the image's filesystem, plus rootfs/{dev,proc,run,sys,tmp,var} if absent
//              (core/enclave_tree.hpp; the pipeline adds them to the tree beforehand)
//   user       (if set) Docker USER string, resolved by init inside the image
//   workdir    (if set) Docker WORKDIR
//
// Determinism: entries in bytewise name order (parents first), inode numbers assigned in that
// order starting at 1, every mtime set to RamdiskOptions::mtime, owners and modes from the image
// (0:0 for the files we add). Hardlinks share an inode number and the data is stored with the
// first name, which the kernel's unpacker turns back into one inode with its content.
#pragma once

#include "core/bytes.hpp"
#include "core/content_spool.hpp"
#include "core/file_tree.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace oci2eif {

struct AppConfig {
  std::vector<std::string> argv; // ENTRYPOINT followed by CMD; at least one element
  std::vector<std::string> env;  // KEY=VALUE
  std::string workdir;           // "" = not set
  std::string user;              // "" = not set
};

struct RamdiskOptions {
  std::uint32_t mtime = 0;
};

// Throws InvalidInput if the config cannot be written (empty argv, a NUL byte in an element, an
// env entry without '=', a relative workdir or one with a line break).
void validate_app_config(const AppConfig& app);

void write_app_ramdisk(const FileTree& tree, const ContentSpool& spool, const AppConfig& app,
                       const RamdiskOptions& options, ByteSink& out);

void write_bootstrap_ramdisk(ByteSource& init, ByteSource* nsm_ko, const RamdiskOptions& options,
                             ByteSink& out);

} // namespace oci2eif
