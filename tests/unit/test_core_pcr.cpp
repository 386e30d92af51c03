#include "core/pcr.hpp"
#include "core/sha.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

TEST_SUITE("core::pcr") {
  TEST_CASE("pcr_hex_map names each PCR, PCR8 only for a signed image") {
    Measurements m{Bytes{0xAB}, Bytes{0x01}, Bytes{0x02}, std::nullopt};
    CHECK(pcr_hex_map(m) ==
          std::map<std::string, std::string>{{"PCR0", "ab"}, {"PCR1", "01"}, {"PCR2", "02"}});
    m.pcr8 = Bytes{0xFF};
    CHECK(pcr_hex_map(m).at("PCR8") == "ff");
  }

  TEST_CASE("extending from zero turns each vector's inner digest into its PCR") {
    // vectors.json records both the SHA-384 before the extend and the PCR AWS's tool reported.
    for (const auto& [name, v] : test::vectors_json()["vectors"].items()) {
      CAPTURE(name);
      const auto& inner = v["inner_digests_before_extend"];
      const auto& m = v["measurements"];
      auto extend = [](const std::string& hex) {
        Bytes digest;
        for (std::size_t i = 0; i < hex.size(); i += 2) {
          digest.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        }
        return to_hex(pcr_extend_from_zero(digest));
      };
      CHECK(extend(inner["image_sha384"]) == m["PCR0"]);
      CHECK(extend(inner["bootstrap_sha384"]) == m["PCR1"]);
      CHECK(extend(inner["app_sha384"]) == m["PCR2"]);
    }
  }

  TEST_CASE("the PCR of no data is vector D's PCR2 (a single-ramdisk image)") {
    CHECK(to_hex(pcr_of({})) == test::vectors_json()["vectors"]["d"]["measurements"]["PCR2"]);
  }

  TEST_CASE("measurements print in nitro-cli's shape and key order") {
    Measurements m{Bytes(48, 0xaa), Bytes(48, 0xbb), Bytes(48, 0xcc), std::nullopt};
    const std::string unsigned_json = measurements_json(m);
    CHECK(unsigned_json.rfind("{\"HashAlgorithm\":\"Sha384 { ... }\",\"PCR0\":\"aaaa", 0) == 0);
    CHECK(unsigned_json.find("PCR8") == std::string::npos);
    m.pcr8 = Bytes(48, 0xdd);
    CHECK(measurements_json(m).find(",\"PCR8\":\"dddd") != std::string::npos);
  }
}
