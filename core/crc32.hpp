// CRC-32/ISO-HDLC (the zlib, PNG and Ethernet CRC): reflected polynomial 0xEDB88320,
// initial value and final XOR 0xFFFFFFFF. This is the CRC the EIF header carries
// (FORMAT.md §2.1; upstream uses crc::CRC_32_ISO_HDLC).
#pragma once

#include "core/bytes.hpp"

#include <cstdint>

namespace oci2eif {

class Crc32 {
public:
  void update(ByteView data);
  // The CRC of everything passed to update() so far. Does not reset the state.
  std::uint32_t value() const { return crc_; }
  // A CRC that goes on from `value`, the CRC of what came before (as crc32_combine gives it).
  static Crc32 resume(std::uint32_t value) {
    Crc32 c;
    c.crc_ = value;
    return c;
  }

private:
  std::uint32_t crc_ = 0; // the running CRC, already final (the inversion is inside)
};

// One-shot CRC of `data`.
std::uint32_t crc32(ByteView data);

// Given crc_a = CRC(A) and crc_b = CRC(B) with |B| = length_b, returns CRC(A ‖ B) without
// seeing the bytes again. The EIF writer needs it because the header, which comes first in the
// CRC, is only final after the signature section has been written.
std::uint32_t crc32_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t length_b);

// A sink that only computes the CRC of what passes through.
class Crc32Sink final : public ByteSink {
public:
  void write(ByteView data) override { crc_.update(data); }
  std::uint32_t value() const { return crc_.value(); }

private:
  Crc32 crc_;
};

} // namespace oci2eif
