#include "core/error.hpp"
#include "registry/manifest.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <random>

using namespace oci2eif;
using namespace oci2eif::registry;

using test::error_of;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

std::string manifest_json(const std::string& layers = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kDigest + R"(","size":10},"layers":[)" + layers + "]}";
}

} // namespace

TEST_SUITE("registry::Platform") {
  TEST_CASE("platforms parse, print and match like containerd's") {
    const Platform p = Platform::parse("linux/arm64/v8");
    CHECK(p.architecture == "arm64");
    CHECK(p.to_string() == "linux/arm64/v8");
    CHECK(Platform::parse("linux/arm64").matches(p));
    CHECK(p.matches(Platform::parse("linux/arm64"))); // arm64's default variant is v8
    CHECK_FALSE(Platform::parse("linux/arm/v7").matches(Platform::parse("linux/arm/v6")));
    CHECK_FALSE(Platform::parse("linux/amd64").matches(p));
    CHECK(Platform::for_arch("aarch64").to_string() == "linux/arm64");
    CHECK(Platform::for_arch("x86_64").to_string() == "linux/amd64");
    CHECK_THROWS_WITH_AS(
        Platform::parse("amd64"),
        "platform 'amd64' must look like os/architecture[/variant], e.g. linux/amd64 "
        "or linux/arm64/v8",
        Error);
    CHECK_THROWS_AS(Platform::parse("linux//v8"), Error);
  }
}

TEST_SUITE("registry::manifest") {
  TEST_CASE("a manifest parses with its config and layers") {
    const std::string json =
        manifest_json(R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" +
                      kDigest + R"(","size":5})");
    const ImageManifest m = parse_manifest(as_bytes(json), media_type::kOciManifest, "m");
    REQUIRE(m.layers.size() == 1);
    CHECK(layer_compression(m.layers[0].media_type, "l") == Compression::Zstd);
    CHECK(m.config.size == 10);
  }

  TEST_CASE("schema 1, foreign media types and malformed documents get precise errors") {
    CHECK(error_of([] { parse_manifest(as_bytes("{}"), media_type::kDockerSchema1Signed, "m"); }) ==
          "m: Docker schema 1 manifests are not supported (deprecated since 2017); push the image "
          "again with a current client to get schema 2 or OCI");
    CHECK(error_of([] {
            parse_manifest(as_bytes(manifest_json()), media_type::kDockerManifest, "m");
          }) ==
          "m: declares mediaType application/vnd.oci.image.manifest.v1+json but was served as "
          "application/vnd.docker.distribution.manifest.v2+json");
    CHECK(error_of([] {
            layer_compression("application/vnd.oci.image.layer.v1.tar+bzip2", "layer 1");
          }) ==
          "layer 1: layer media type application/vnd.oci.image.layer.v1.tar+bzip2 is not supported "
          "(expected an OCI or Docker tar, tar+gzip or tar+zstd layer)");
    CHECK(error_of([] {
            parse_manifest(
                as_bytes(manifest_json(R"({"mediaType":"x","digest":"md5:00","size":1})")),
                media_type::kOciManifest, "m");
          }).find("is not a sha256 digest") != std::string::npos);
    CHECK(error_of([] {
            parse_manifest(as_bytes(manifest_json(R"({"mediaType":"x","digest":")" + kDigest +
                                                  R"(","size":-1})")),
                           media_type::kOciManifest, "m");
          }) == "m: layers[0].size: expected a whole number of at least 0, found -1");
    CHECK(error_of([] { parse_index(as_bytes("[]"), "i"); }) ==
          "i: expected a JSON object, found array");
    const std::string huge(kMaxManifestSize + 1, ' ');
    CHECK(error_of([&] { parse_index(as_bytes(huge), "i"); }) ==
          "i: is 4194305 bytes, more than the 4194304-byte limit");
  }

  TEST_CASE("the config gives the app's settings and diff_ids") {
    const std::string json =
        R"({"os":"linux","architecture":"amd64","config":{"Entrypoint":["/app"],"Cmd":["a b"],)"
        R"("Env":["A=1"],"WorkingDir":"/w","User":"app"},"rootfs":{"type":"layers","diff_ids":[")" +
        kDigest + R"("]}})";
    const ImageConfig c = parse_config(as_bytes(json), "c");
    CHECK(c.entrypoint == std::vector<std::string>{"/app"});
    CHECK(c.cmd == std::vector<std::string>{"a b"});
    CHECK(c.working_dir == "/w");
    CHECK(c.user == "app");
    CHECK(c.diff_ids.size() == 1);
    CHECK(error_of([] {
            parse_config(
                as_bytes(
                    R"({"os":"linux","architecture":"amd64","config":{"Cmd":"sh"},"rootfs":{}})"),
                "c");
          }) == "c: config.Cmd: expected an array of strings, found string");
  }

  TEST_CASE("platform selection lists what the index has") {
    ImageIndex index;
    Descriptor amd{media_type::kOciManifest, kDigest, 1, Platform::parse("linux/amd64"), {}};
    Descriptor arm{media_type::kOciManifest, kDigest, 1, Platform::parse("linux/arm64/v8"), {}};
    index.manifests = {amd, arm};
    CHECK(select_platform(index, Platform::parse("linux/arm64"), "i").platform->architecture ==
          "arm64");
    CHECK(error_of([&] { select_platform(index, Platform::parse("linux/riscv64"), "i"); }) ==
          "i has no image for platform linux/riscv64; it has: linux/amd64, linux/arm64/v8");
  }

  TEST_CASE("random JSON-ish bytes never crash the parsers") {
    const std::string base =
        manifest_json(R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
                      kDigest + R"(","size":5})");
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
      std::string s = base;
      for (int k = 0; k < 3; ++k) {
        s[rng() % s.size()] = static_cast<char>(rng() % 128);
      }
      try {
        parse_manifest(as_bytes(s), media_type::kOciManifest, "fuzz");
        parse_index(as_bytes(s), "fuzz");
        parse_config(as_bytes(s), "fuzz");
      } catch (const Error& e) {
        CHECK(std::string(e.what()).rfind("fuzz", 0) == 0);
      }
    }
  }
}
