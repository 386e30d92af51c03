// Reads tar archives (ustar, pax, GNU) entry by entry from a ByteSource through libarchive (whose
// headers stay in the .cpp), and undoes a layer's compression: gzip with GzipSource (ISA-L), zstd
// with libarchive.
//
// The reader never touches the filesystem: an entry's data is streamed to the caller.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace oci2eif {

enum class TarEntryType {
  File,
  Directory,
  Symlink,
  Hardlink,
  CharDevice,
  BlockDevice,
  Fifo,
  Socket
};

struct TarEntry {
  std::string path; // as stored (UTF-8 or raw bytes), not normalised
  TarEntryType type = TarEntryType::File;
  std::uint32_t mode = 0; // permission bits, 07777
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;  // data bytes that follow (files only)
  std::string link_target; // symlink target, or the path a hardlink points to
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;
  bool has_xattrs = false;
};

class TarReader {
public:
  // `name` names the archive in errors ("layer 2 (sha256:ab12…)").
  TarReader(ByteSource& in, std::string name);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // Advances to the next entry; false at the end of the archive. Unread data of the previous
  // entry is skipped.
  bool next(TarEntry& entry);
  // Streams the current entry's data. Throws Corrupt if the archive ends early.
  ByteSource& data();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class Compression { None, Gzip, Zstd };

// Decompresses `in` as it is read (size() is kUnknownSize). Compression::None passes through.
std::unique_ptr<ByteSource> decompressing_source(ByteSource& in, Compression compression,
                                                 std::string name);

} // namespace oci2eif
