#include "core/eif_format.hpp"
#include "core/error.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

TEST_SUITE("core::eif_format") {
  TEST_CASE(
      "vector A's header decodes to the values AWS's tool recorded and re-encodes identically") {
    const Bytes eif = test::read_file(test::vector_file('a'));
    std::array<std::uint8_t, kEifHeaderSize> raw{};
    std::copy_n(eif.begin(), kEifHeaderSize, raw.begin());
    const EifHeader h = decode_header(raw);
    const auto& expected = test::vectors_json()["vectors"]["a"];
    CHECK(h.magic == kEifMagic);
    CHECK(h.version == expected["header"]["version"]);
    CHECK(h.flags == expected["header"]["flags"]);
    CHECK(h.default_memory == expected["header"]["default_mem"]);
    CHECK(h.default_cpus == expected["header"]["default_cpus"]);
    CHECK(h.num_sections == expected["header"]["num_sections"]);
    for (std::size_t i = 0; i < expected["sections"].size(); ++i) {
      CHECK(h.section_offsets[i] == expected["sections"][i]["offset"]);
      CHECK(h.section_sizes[i] == expected["sections"][i]["size"]);
    }
    char crc[9];
    std::snprintf(crc, sizeof crc, "%08x", h.crc32);
    CHECK(std::string(crc) == expected["header"]["crc32"]);
    CHECK(encode_header(h) == raw);
  }

  TEST_CASE("section headers are 12 big-endian bytes") {
    const auto bytes = encode_section_header({3, 0, 0x0102030405060708ull});
    const std::array<std::uint8_t, 12> expected = {0, 3, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(bytes == expected);
    const EifSectionHeader back = decode_section_header(bytes);
    CHECK(back.type == 3);
    CHECK(back.size == 0x0102030405060708ull);
  }

  TEST_CASE("architectures parse by either name and anything else is refused") {
    CHECK(parse_arch("x86_64") == Arch::X86_64);
    CHECK(parse_arch("amd64") == Arch::X86_64);
    CHECK(parse_arch("arm64") == Arch::Aarch64);
    CHECK_THROWS_WITH_AS(parse_arch("riscv64"),
                         "unknown architecture 'riscv64' (expected x86_64 or aarch64)", Error);
  }
}
