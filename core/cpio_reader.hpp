// Reads cpio archives in the "newc" format (070701, and 070702 whose checksum field is not
// checked), the format of every EIF ramdisk (core/cpio_writer.hpp has the layout).
//
// It accepts what the Linux initramfs unpacker accepts: several archives one after another,
// each ended by a "TRAILER!!!" member and followed by any number of zero bytes. The input is
// untrusted (an EIF from anywhere), so every field is checked and errors say which member and
// which byte offset is wrong. Only the header and name of the current member are held; the data
// streams through read_data().
#pragma once

#include "core/bytes.hpp"
#include "core/cpio_writer.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace oci2eif {

// Longer names are refused, as the kernel's unpacker refuses names over PATH_MAX.
inline constexpr std::uint32_t kMaxCpioNameSize = 4096;

class CpioReader {
public:
  // `name` names the archive in errors ("ramdisk 2").
  CpioReader(ByteSource& in, std::string name) : in_(in), name_(std::move(name)) {}

  // The next member's header (skipping what is left of the previous member's data), or nullopt
  // after the last trailer and its padding. Trailers themselves are not returned. Throws
  // Corrupt on a malformed header or an input that ends inside a member.
  std::optional<CpioHeader> next();

  // Up to out.size() bytes of the current member's data; 0 at its end.
  std::size_t read_data(std::span<std::uint8_t> out);

  // The current member's device numbers (devmajor, devminor): with ino they say which members
  // are hardlinks of one file.
  std::uint32_t dev_major() const { return dev_major_; }
  std::uint32_t dev_minor() const { return dev_minor_; }

private:
  bool skip_padding_between_archives();
  CpioHeader read_header();
  void read_exactly(std::span<std::uint8_t> out, const char* what);
  void skip(std::uint64_t n, const char* what);
  void skip_to_alignment(const char* what);
  [[noreturn]] void corrupt(const std::string& what) const;

  ByteSource& in_;
  std::string name_;
  std::uint64_t offset_ = 0;    // bytes consumed from `in_`
  std::uint64_t data_left_ = 0; // of the current member
  bool data_pad_pending_ = false;
  bool after_trailer_ = true; // at the start of an archive (or the input's end)
  std::uint8_t lookahead_ = 0;
  bool has_lookahead_ = false;
  std::uint32_t dev_major_ = 0;
  std::uint32_t dev_minor_ = 0;
};

} // namespace oci2eif
