#include "core/crc32.hpp"

#include <doctest/doctest.h>
#include <random>

using namespace oci2eif;

namespace {
// Bit-at-a-time reference straight from the definition, to check the sliced tables against.
std::uint32_t crc32_bitwise(ByteView data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
  }
  return ~c;
}

Bytes random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) {
    b = static_cast<std::uint8_t>(rng());
  }
  return out;
}
} // namespace

TEST_SUITE("core::Crc32") {
  TEST_CASE("the CRC-32/ISO-HDLC check value of \"123456789\" is 0xCBF43926") {
    // Check value from the CRC catalogue (CRC-32/ISO-HDLC), and what zlib.crc32 returns.
    CHECK(crc32(as_bytes("123456789")) == 0xCBF43926u);
    CHECK(crc32({}) == 0u);
  }

  TEST_CASE("the sliced implementation equals the bitwise definition at every length") {
    const Bytes data = random_bytes(257, 1);
    for (std::size_t n = 0; n <= data.size(); ++n) {
      CHECK(crc32(ByteView(data.data(), n)) == crc32_bitwise(ByteView(data.data(), n)));
    }
  }

  TEST_CASE("updating in pieces gives the same CRC as one update") {
    const Bytes data = random_bytes(10000, 2);
    Crc32 c;
    c.update(ByteView(data.data(), 3));
    c.update(ByteView(data.data() + 3, 4000));
    c.update(ByteView(data.data() + 4003, data.size() - 4003));
    CHECK(c.value() == crc32(data));
  }

  TEST_CASE("crc32_combine equals the CRC of the concatenation") {
    const Bytes data = random_bytes(70000, 3);
    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{548},
                              std::size_t{65536}, data.size()}) {
      const ByteView a(data.data(), split);
      const ByteView b(data.data() + split, data.size() - split);
      CAPTURE(split);
      CHECK(crc32_combine(crc32(a), crc32(b), b.size()) == crc32(data));
    }
  }
}
