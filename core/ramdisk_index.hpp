// What an EIF ramdisk holds, member by member, for explaining why two images measure
// differently (core/eif_diff.hpp). Read from the ramdisk's bytes alone, so it works on any EIF:
// ours, or nitro-cli's (whose ramdisks may be gzip-compressed cpio).
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace oci2eif {

struct RamdiskMember {
  std::uint32_t mode = 0; // file type bits | permission bits, as in the archive
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t mtime = 0;
  std::uint64_t size = 0;       // of the file's content (a hardlink: of its group's)
  Bytes sha256;                 // of a regular file's content; empty for other types
  std::string link_target;      // symlinks
  std::uint32_t rdev_major = 0; // devices
  std::uint32_t rdev_minor = 0;
  std::string hardlink_of; // the first member sharing this one's inode, if not this one
  std::string content;     // only for the members named in `keep_content`
};

// Members by name; a name archived twice keeps the later one, as the unpacker does.
using RamdiskIndex = std::map<std::string, RamdiskMember>;

struct RamdiskIndexOptions {
  std::set<std::string> keep_content; // member names whose content is kept (if at most 1 MiB)
};

// Reads a plain or gzip-compressed newc archive (or several concatenated). `name` names it in
// errors. Throws Corrupt for anything else.
RamdiskIndex index_ramdisk(ByteSource& in, const std::string& name,
                           const RamdiskIndexOptions& options = {});

// The file type of a cpio/stat mode as rootfs.txt names it: file, dir, symlink, char, block,
// fifo, socket, or "unknown".
std::string file_type_name(std::uint32_t mode);

} // namespace oci2eif
