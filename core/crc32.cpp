// ISA-L's crc32_gzip_refl (the same CRC-32/ISO-HDLC, with the initial and final inversion
// inside, as zlib's): it folds with PCLMULQDQ. zlib 1.2.13's braided code (which had replaced a
// slicing-by-8 table) took 3.3% of the CPU time of a 1 GB build. zlib's crc32_combine stays for
// the header-last assembly; ISA-L has no combine.
#include "core/crc32.hpp"

#include <isa-l/crc.h>
#include <zlib.h>

namespace oci2eif {

void Crc32::update(ByteView data) {
  crc_ = ::crc32_gzip_refl(crc_, data.data(), data.size());
}

std::uint32_t crc32(ByteView data) {
  Crc32 c;
  c.update(data);
  return c.value();
}

std::uint32_t crc32_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t length_b) {
  static_assert(sizeof(z_off_t) >= sizeof(std::int64_t), "64-bit lengths");
  return static_cast<std::uint32_t>(::crc32_combine(crc_a, crc_b, static_cast<z_off_t>(length_b)));
}

} // namespace oci2eif
