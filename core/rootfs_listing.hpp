// A text listing of a root filesystem, one line per entry (the root itself excluded), in bytewise
// path order, fields separated by TAB (docs/rootfs-listing.md):
//
//   path  type  mode  uid:gid  size  sha256  target
//
// type is file, dir, symlink, char, block or fifo; mode is 4 octal digits (0777 for symlinks);
// size and sha256 are for files ("0" and "-" otherwise); target is the symlink target or
// "MAJOR,MINOR" for devices ("-" otherwise). TAB, LF and backslash in paths and targets are
// written as \t, \n and \\. Hardlinks are listed as the files they are.
//
// tests/tools/rootfs_listing.py prints the same format for an unpacked directory, which is how
// the flattener is checked against umoci.
#pragma once

#include "core/bytes.hpp"
#include "core/file_tree.hpp"

#include <string>

namespace oci2eif {

void write_rootfs_listing(const FileTree& tree, ByteSink& out);

} // namespace oci2eif
