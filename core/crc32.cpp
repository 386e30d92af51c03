// zlib's CRC-32 (the same CRC-32/ISO-HDLC), which is faster than the slicing-by-8 table this
// file had (zlib 1.2.13's braided code), and its crc32_combine for the header-last assembly.
#include "core/crc32.hpp"

#include <algorithm>
#include <limits>
#include <zlib.h>

namespace oci2eif {

void Crc32::update(ByteView data) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  while (n > 0) { // crc32_z takes a z_size_t: no limit in practice, but stay exact
    const std::size_t part = std::min<std::size_t>(n, std::numeric_limits<z_size_t>::max());
    crc_ = ::crc32_z(crc_, p, static_cast<z_size_t>(part));
    p += part;
    n -= part;
  }
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
