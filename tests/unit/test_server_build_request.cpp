#include "core/error.hpp"
#include "server/build_request.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

const std::string kImage = R"("image": "docker.io/library/busybox:1.36")";

std::string refusal(const std::string& fields) {
  return test::error_of([&] { parse_build_request("{" + kImage + ", " + fields + "}"); });
}

} // namespace

TEST_SUITE("server::build_request") {
  TEST_CASE("metadata and signing_key are kept and survive the stored form") {
    const BuildRequest r = parse_build_request(
        "{" + kImage + R"(, "metadata": {"team": "enclaves", "n": 3}, "signing_key": "prod"})");
    REQUIRE(r.metadata);
    CHECK((*r.metadata)["team"] == "enclaves");
    CHECK(r.signing_key == "prod");
    const BuildRequest again = parse_build_request(to_json(r));
    CHECK(again.metadata == r.metadata);
    CHECK(again.signing_key == r.signing_key);
    CHECK(to_json(again) == to_json(r));
  }

  TEST_CASE("metadata: an object of at most 4096 bytes, without the keys oci2eif writes") {
    CHECK(refusal(R"("metadata": [1])") == "field 'metadata': expected an object, found array");
    CHECK(refusal(R"("metadata": {"ImagePlatform": "linux/s390x"})") ==
          "field 'metadata': custom metadata key 'ImagePlatform' is reserved: oci2eif records the "
          "image there");
    const std::string big = R"("metadata": {"k": ")" + std::string(4100, 'x') + "\"}";
    CHECK(refusal(big).find("field 'metadata': 4108 bytes as JSON; an EIF's custom metadata is "
                            "at most 4096") != std::string::npos);
  }

  TEST_CASE("push: a registry reference by tag, kept in the stored form") {
    const BuildRequest r =
        parse_build_request("{" + kImage + R"(, "push": "registry.example:5000/team/app:1-eif"})");
    CHECK(r.push == "registry.example:5000/team/app:1-eif");
    CHECK(parse_build_request(to_json(r)).push == r.push);
    CHECK_FALSE(parse_build_request("{" + kImage + "}").push);
    CHECK(refusal(R"("push": 1)") == "field 'push': expected a string, found number");
    CHECK(refusal(R"("push": "r.example/app@sha256:)" + std::string(64, 'a') + "\"") ==
          "field 'push': 'r.example/app@sha256:" + std::string(64, 'a') +
              "' names a digest; push to a tag (HOST/REPO:TAG)");
    CHECK(refusal(R"("push": "Bad Ref")").rfind("field 'push': ", 0) == 0);
  }

  TEST_CASE("signing_key must be a string - unknown fields list the known ones") {
    CHECK(refusal(R"("signing_key": 7)") == "field 'signing_key': expected a string, found number");
    const std::string e = refusal(R"("signing": "prod")");
    CHECK(e.find("field 'signing': unknown field") != std::string::npos);
    CHECK(e.find("metadata, signing_key") != std::string::npos);
  }
}
