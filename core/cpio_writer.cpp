#include "core/cpio_writer.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cstdio>

namespace oci2eif {
namespace {

constexpr std::uint64_t kMaxField = 0xFFFFFFFFull;

void check_field(std::uint64_t value, const char* field, const std::string& name) {
  if (value > kMaxField) {
    throw Error(ErrorCode::Unsupported, "cpio entry `" + name + "`: " + field + " " +
                                            std::to_string(value) +
                                            " does not fit newc's 32-bit field (files must be "
                                            "smaller than 4 GiB)");
  }
}

} // namespace

void CpioWriter::emit(ByteView data) {
  out_.write(data);
  written_ += data.size();
}

void CpioWriter::pad(std::size_t alignment) {
  static constexpr std::uint8_t kZeros[512] = {};
  std::size_t rest = static_cast<std::size_t>(written_ % alignment);
  if (rest == 0) {
    return;
  }
  std::size_t need = alignment - rest;
  while (need > 0) {
    const std::size_t n = std::min(need, sizeof kZeros);
    emit(ByteView(kZeros, n));
    need -= n;
  }
}

void CpioWriter::write_header(const CpioHeader& h) {
  if (h.name.empty() || h.name.find('\0') != std::string::npos) {
    throw Error(ErrorCode::InvalidInput, "cpio entry names must be non-empty and contain no NUL");
  }
  check_field(h.filesize, "size", h.name);
  check_field(h.mtime, "mtime", h.name);
  char buf[6 + 13 * 8 + 1];
  std::snprintf(buf, sizeof buf, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
                h.ino, h.mode, h.uid, h.gid, h.nlink, static_cast<std::uint32_t>(h.mtime),
                static_cast<std::uint32_t>(h.filesize), 0u, 0u, h.rdev_major, h.rdev_minor,
                static_cast<std::uint32_t>(h.name.size() + 1), 0u);
  emit(ByteView(reinterpret_cast<const std::uint8_t*>(buf), sizeof buf - 1));
  emit(ByteView(reinterpret_cast<const std::uint8_t*>(h.name.c_str()), h.name.size() + 1));
  pad(4);
}

void CpioWriter::add(const CpioHeader& header, ByteSource& data) {
  write_header(header);
  Bytes buffer(static_cast<std::size_t>(std::min<std::uint64_t>(header.filesize, 1 << 20)));
  std::uint64_t left = header.filesize;
  while (left > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    const std::size_t n = data.read(std::span(buffer.data(), want));
    if (n == 0) {
      throw Error(ErrorCode::Io, "cpio entry `" + header.name + "`: " + data.describe() +
                                     " ended " + std::to_string(left) + " bytes early");
    }
    emit(ByteView(buffer.data(), n));
    left -= n;
  }
  pad(4);
}

void CpioWriter::add(const CpioHeader& header, ByteView data) {
  MemorySource source(data, header.name);
  CpioHeader h = header;
  h.filesize = data.size();
  add(h, source);
}

void CpioWriter::finish(std::size_t pad_to) {
  CpioHeader trailer;
  trailer.name = "TRAILER!!!";
  trailer.nlink = 1;
  add(trailer, ByteView());
  pad(pad_to);
}

} // namespace oci2eif
