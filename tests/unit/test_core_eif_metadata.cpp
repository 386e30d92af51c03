#include "core/eif_metadata.hpp"
#include "core/error.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

namespace {
EifMetadata vector_metadata() {
  EifMetadata m;
  m.image_name = "kernel.bin";
  m.image_version = "1.0";
  m.build = {"2024-01-01T00:00:00+00:00", "eif_build", "0.3.1", "Linux", "6.6.79"};
  return m;
}
std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}
} // namespace

TEST_SUITE("core::eif_metadata") {
  TEST_CASE("metadata bytes equal what AWS's eif_build wrote for vector A") {
    CHECK(text(encode_metadata(vector_metadata())) ==
          test::vectors_json()["vectors"]["a"]["metadata_json"].get<std::string>());
  }

  TEST_CASE("custom metadata keys come out sorted, as in vector B") {
    EifMetadata m = vector_metadata();
    const Bytes file = test::read_file(test::vector_input("custom-metadata.json"));
    m.custom_metadata = parse_custom_metadata(file, "custom-metadata.json");
    CHECK(text(encode_metadata(m)) ==
          test::vectors_json()["vectors"]["b"]["metadata_json"].get<std::string>());
  }

  TEST_CASE("decoding gives back what was encoded") {
    EifMetadata m = vector_metadata();
    m.custom_metadata = {{"z", 1}, {"a", "ü"}};
    const EifMetadata back = decode_metadata(encode_metadata(m));
    CHECK(back.image_name == "kernel.bin");
    CHECK(back.build.kernel_version == "6.6.79");
    CHECK(back.custom_metadata == m.custom_metadata);
    CHECK(back.docker_info.is_null());
  }

  TEST_CASE("a metadata section missing a required key is refused by name") {
    CHECK_THROWS_WITH_AS(
        decode_metadata(as_bytes(
            R"({"ImageName":"x","BuildMetadata":{},"DockerInfo":null,"CustomMetadata":null})")),
        "metadata section: ImageVersion: missing; expected a string", Error);
    CHECK_THROWS_WITH_AS(
        decode_metadata(as_bytes(
            R"({"ImageName":"x","ImageVersion":"1","BuildMetadata":{"BuildTime":"t","BuildTool":"b","BuildToolVersion":"v","OperatingSystem":"o"},"DockerInfo":null,"CustomMetadata":null})")),
        "metadata section: BuildMetadata.KernelVersion: missing; expected a string", Error);
    CHECK_THROWS_WITH_AS(decode_metadata(as_bytes("[1]")),
                         "metadata section: expected a JSON object, found array", Error);
    CHECK_THROWS_AS(decode_metadata(as_bytes("{\"ImageName\":")), Error);
  }

  TEST_CASE("custom metadata over 4096 bytes or not JSON is refused with the file named") {
    const std::string big = "\"" + std::string(4095, 'x') + "\"";
    CHECK_THROWS_WITH_AS(
        parse_custom_metadata(as_bytes(big), "m.json"),
        "m.json: custom metadata is 4097 bytes; the EIF format allows at most 4096", Error);
    const std::string exact = "\"" + std::string(4094, 'x') + "\"";
    CHECK(parse_custom_metadata(as_bytes(exact), "m.json").get<std::string>().size() == 4094);
    CHECK_THROWS_AS(parse_custom_metadata(as_bytes("{nope"), "m.json"), Error);
  }

  TEST_CASE("kernel identity comes from line 3 of the kernel config, as upstream reads it") {
    const auto amzn = kernel_identity_from_config(
        "#\n# Automatically generated file; DO NOT EDIT.\n"
        "# Linux/x86_64 4.14.256-209.484.amzn2.x86_64 Kernel Configuration\n#\n");
    CHECK(amzn.operating_system == "Linux");
    CHECK(amzn.kernel_version == "4.14.256");
    const auto arm =
        kernel_identity_from_config("#\n#\n# Linux/arm64 6.6.79 Kernel Configuration\n");
    CHECK(arm.kernel_version == "6.6.79");
    CHECK_THROWS_AS(kernel_identity_from_config("CONFIG_X=y\n"), Error);
  }

  TEST_CASE("build times are RFC 3339 in UTC with +00:00") {
    CHECK(rfc3339_utc(0) == "1970-01-01T00:00:00+00:00");
    CHECK(rfc3339_utc(1704067200) == "2024-01-01T00:00:00+00:00");
  }
}
