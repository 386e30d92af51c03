// Writes cpio archives in the "newc" format (070701), the one the Linux initramfs unpacker reads
// (linux/Documentation/driver-api/early-userspace/buffer-format.rst):
//
//   entry   := header name NUL pad4 data pad4
//   header  := "070701" + 13 fields of 8 lower-case hex digits:
//              ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
//              namesize(with NUL) check(0)
//   archive := entry* trailer-entry("TRAILER!!!") zero-padding to a multiple of `pad_to`
//
// Pure streaming: the writer never holds file data, it copies from a ByteSource to the sink.
// Every field is 32 bits, so files of 4 GiB or more cannot be stored; the writer refuses them.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <string>

namespace oci2eif {

struct CpioHeader {
  std::string name;
  std::uint32_t ino = 0;
  std::uint32_t mode = 0; // file type bits | permission bits
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t nlink = 1;
  std::uint64_t mtime = 0;
  std::uint64_t filesize = 0;
  std::uint32_t rdev_major = 0;
  std::uint32_t rdev_minor = 0;
};

// File type bits of the cpio mode field (the same as Linux's S_IF*).
inline constexpr std::uint32_t kCpioRegular = 0100000;
inline constexpr std::uint32_t kCpioDirectory = 0040000;
inline constexpr std::uint32_t kCpioSymlink = 0120000;
inline constexpr std::uint32_t kCpioCharDevice = 0020000;
inline constexpr std::uint32_t kCpioBlockDevice = 0060000;
inline constexpr std::uint32_t kCpioFifo = 0010000;

class CpioWriter {
public:
  explicit CpioWriter(ByteSink& out) : out_(out) {}

  // Writes one entry whose data is exactly header.filesize bytes of `data`.
  void add(const CpioHeader& header, ByteSource& data);
  void add(const CpioHeader& header, ByteView data);
  // Writes the trailer and pads the archive with zeros to a multiple of `pad_to` bytes.
  void finish(std::size_t pad_to = 512);

  std::uint64_t bytes_written() const { return written_; }

private:
  void write_header(const CpioHeader& header);
  void pad(std::size_t alignment);
  void emit(ByteView data);

  ByteSink& out_;
  std::uint64_t written_ = 0;
};

} // namespace oci2eif
