#include "core/error.hpp"
#include "pipeline/image_reference.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using pipeline::SourceKind;

TEST_SUITE("pipeline::image_reference") {
  TEST_CASE("each form parses to its kind and location, and prints back as written") {
    const struct {
      const char* text;
      SourceKind kind;
      const char* location;
    } cases[] = {
        {"oci-layout:/images/app:v1", SourceKind::OciLayout, "/images/app:v1"},
        {"oci-archive:app.tar", SourceKind::OciArchive, "app.tar"},
        {"docker-archive:/tmp/app.tar:latest", SourceKind::DockerArchive, "/tmp/app.tar:latest"},
        {"registry.example:5000/team/app@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         SourceKind::Registry,
         "registry.example:5000/team/app@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      const pipeline::ImageRef ref = pipeline::parse_image_reference(c.text);
      CHECK(ref.kind == c.kind);
      CHECK(ref.location == c.location);
      CHECK(pipeline::image_reference_text(ref) == c.text);
    }
  }

  TEST_CASE("an empty image or an empty path is refused, naming the accepted forms") {
    CHECK(test::error_of([] { pipeline::parse_image_reference(""); }).find("oci-layout:DIR") !=
          std::string::npos);
    CHECK(test::code_of([] { pipeline::parse_image_reference("oci-archive:"); }) ==
          ErrorCode::InvalidInput);
  }
}
