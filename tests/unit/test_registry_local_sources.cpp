// Archive sources (oci-archive, docker-archive) unpack into scratch: a stop request must reach
// that loop, which for a multi-GB `docker save` is most of the build.
#include "core/error.hpp"
#include "registry/image_source.hpp"
#include "tests/unit/tar_builder.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>

using namespace oci2eif;

TEST_SUITE("registry::local_sources") {
  TEST_CASE("unpacking an archive consults the interrupt and stops where it throws") {
    test::TempDir dir;
    test::TarBuilder tar;
    tar.file("oci-layout", R"({"imageLayoutVersion": "1.0.0"})")
        .file("blobs/sha256/big", std::string(9 << 20, 'x'))
        .file("index.json", R"({"schemaVersion": 2, "manifests": []})");
    const Bytes archive = tar.finish();
    std::ofstream(dir / "image.tar", std::ios::binary)
        .write(reinterpret_cast<const char*>(archive.data()),
               static_cast<std::streamsize>(archive.size()));
    std::filesystem::create_directories(dir / "scratch");

    int calls = 0;
    const std::string e = test::error_of([&] {
      registry::open_oci_archive(dir / "image.tar", "", dir / "scratch", [&] {
        if (++calls == 2) { // the first check is before any byte: stop at the second
          throw Error(ErrorCode::Cancelled, "stopped by the test");
        }
      });
    });
    CHECK(e == "stopped by the test");
    CHECK(calls == 2);
    CHECK_FALSE(std::filesystem::exists(dir / "scratch" / "index.json")); // never reached

    // Without a stop, the same archive unpacks completely.
    std::filesystem::remove_all(dir / "scratch");
    std::filesystem::create_directories(dir / "scratch");
    int checks = 0;
    registry::open_oci_archive(dir / "image.tar", "", dir / "scratch", [&] { ++checks; });
    CHECK(std::filesystem::file_size(dir / "scratch" / "blobs" / "sha256" / "big") == 9u << 20);
    CHECK(checks >= 3); // 9 MiB read: before the first byte, then every 4 MiB
  }
}
