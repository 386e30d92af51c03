#include "core/error.hpp"
#include "pipeline/image_reference.hpp"
#include "server/local_image_policy.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

std::string refusal(const std::string& image, const std::vector<std::filesystem::path>& roots) {
  return test::error_of([&] { allowed_local_root(pipeline::parse_image_reference(image), roots); });
}

} // namespace

TEST_SUITE("server::local_image_policy") {
  TEST_CASE("a registry reference needs no allow-list") {
    CHECK(refusal("docker.io/library/busybox:latest", {}).empty());
  }

  TEST_CASE("with no directories allowed, every local image is refused, saying how to allow") {
    const std::string e = refusal("oci-layout:/srv/images/app:1", {});
    CHECK(e.find("this server does not build local images") != std::string::npos);
    CHECK(e.find("--local-images") != std::string::npos);
  }

  TEST_CASE("paths below an allowed directory pass - others, `..` and links out are refused") {
    test::TempDir dir;
    const auto root = std::filesystem::canonical(dir.path()) / "images";
    std::filesystem::create_directories(root / "app");
    std::filesystem::create_directories(dir / "secret");
    std::filesystem::create_directory_symlink(dir / "secret", root / "link");
    const std::vector<std::filesystem::path> roots{root};

    CHECK(refusal("oci-layout:" + (root / "app").string() + ":1.0", roots).empty());
    CHECK(refusal("oci-archive:" + (root / "app" / "image.tar").string(), roots).empty());
    CHECK(refusal("oci-layout:" + root.string(), roots).empty()); // the directory itself

    const std::string below =
        "not below a directory this server builds local images from (" + root.string() + ")";
    CHECK(refusal("oci-layout:" + (dir / "secret").string(), roots).find(below) !=
          std::string::npos);
    CHECK(refusal("oci-layout:" + (root / ".." / "secret").string(), roots).find(below) !=
          std::string::npos);
    CHECK(refusal("oci-layout:" + (root / "link").string() + ":latest", roots)
              .find(below + ": a link in it leads outside") != std::string::npos);
    // A sibling whose name merely starts like the root is not below it.
    std::filesystem::create_directories(dir / "images-other");
    CHECK(
        refusal("docker-archive:" + (dir / "images-other" / "x.tar").string(), roots).find(below) !=
        std::string::npos);
    CHECK(refusal("oci-layout:images/app", roots).find("a local image path must be absolute") !=
          std::string::npos);
    // The path is compared as written: a /proc/self/root detour to the same place is not below.
    CHECK(refusal("oci-layout:/proc/self/root" + (root / "app").string(), roots).find(below) !=
          std::string::npos);
    // A link below the root that stays below it is fine, and the root the image lies below is
    // what the worker opens it beneath.
    std::filesystem::create_directory_symlink("app", root / "alias");
    CHECK(refusal("oci-layout:" + (root / "alias").string(), roots).empty());
    CHECK(allowed_local_root(
              pipeline::parse_image_reference("oci-layout:" + (root / "alias").string()),
              {dir / "elsewhere", root}) == root);
  }

  TEST_CASE("an archive named with podman's full reference is checked by its file's path") {
    test::TempDir dir;
    const auto root = std::filesystem::canonical(dir.path()) / "images";
    std::filesystem::create_directories(root);
    std::ofstream(root / "app.tar") << "x";
    std::filesystem::create_directories(dir / "secret");
    std::ofstream(dir / "secret" / "app.tar") << "x";
    const std::vector<std::filesystem::path> roots{root};
    CHECK(refusal("docker-archive:" + (root / "app.tar").string() + ":localhost/pyapp:1", roots)
              .empty());
    CHECK(refusal("oci-archive:" + (root / "app.tar").string() + ":1", roots).empty());
    // The reference cannot carry the path out: the file is what is checked.
    CHECK(
        refusal("oci-archive:" + (dir / "secret" / "app.tar").string() + ":" + root.string(), roots)
            .find("not below a directory") != std::string::npos);
  }
}
