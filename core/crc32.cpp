// Table-driven CRC, eight bytes per step ("slicing-by-8"), and the GF(2) matrix method for
// combining two CRCs: appending n zero bits to a message is a linear map on the 32-bit CRC
// register, so CRC(A ‖ B) = shift^|B|(CRC(A)) xor CRC(B), with shift^|B| computed by repeated
// squaring of the one-bit shift matrix.
#include "core/crc32.hpp"

#include <array>

namespace oci2eif {
namespace {

constexpr std::uint32_t kPolynomial = 0xEDB88320u;

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1u) ? (c >> 1) ^ kPolynomial : c >> 1;
    }
    t[0][i] = c;
  }
  for (std::size_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) {
      t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xffu];
    }
  }
  return t;
}

constexpr Tables kTables = make_tables();

using Matrix = std::array<std::uint32_t, 32>;

std::uint32_t multiply(const Matrix& m, std::uint32_t vec) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; vec != 0; ++i, vec >>= 1) {
    if (vec & 1u) {
      sum ^= m[i];
    }
  }
  return sum;
}

Matrix square(const Matrix& m) {
  Matrix out{};
  for (std::size_t i = 0; i < 32; ++i) {
    out[i] = multiply(m, m[i]);
  }
  return out;
}

} // namespace

void Crc32::update(ByteView data) {
  std::uint32_t c = state_;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  while (n >= 8) {
    const std::uint32_t lo = c ^ (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                                  std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24);
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
        kTables[4][lo >> 24] ^ kTables[3][p[4]] ^ kTables[2][p[5]] ^ kTables[1][p[6]] ^
        kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) {
    c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xffu];
  }
  state_ = c;
}

std::uint32_t crc32(ByteView data) {
  Crc32 c;
  c.update(data);
  return c.value();
}

std::uint32_t crc32_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t length_b) {
  if (length_b == 0) {
    return crc_a;
  }
  // `odd` shifts the register by one bit, then squaring gives 2, 4, 8 ... bits.
  Matrix odd{};
  odd[0] = kPolynomial;
  for (std::size_t i = 1; i < 32; ++i) {
    odd[i] = 1u << (i - 1);
  }
  Matrix even = square(odd); // 2 bits
  odd = square(even);        // 4 bits
  // Each loop step handles one bit of length_b (in bytes, so start from the 8-bit operator).
  std::uint32_t crc = crc_a;
  for (;;) {
    even = square(odd); // 8, 32, 128 ... bits
    if (length_b & 1u) {
      crc = multiply(even, crc);
    }
    length_b >>= 1;
    if (length_b == 0) {
      break;
    }
    odd = square(even); // 16, 64, 256 ... bits
    if (length_b & 1u) {
      crc = multiply(odd, crc);
    }
    length_b >>= 1;
    if (length_b == 0) {
      break;
    }
  }
  return crc ^ crc_b;
}

} // namespace oci2eif
