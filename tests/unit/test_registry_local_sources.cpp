// Archive sources (oci-archive, docker-archive) unpack into scratch: a stop request must reach
// that loop, which for a multi-GB `docker save` is most of the build.
#include "core/error.hpp"
#include "registry/image_source.hpp"
#include "tests/unit/tar_builder.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <variant>

using namespace oci2eif;

namespace {

void write_tar(const std::filesystem::path& path, test::TarBuilder& tar) {
  const Bytes archive = tar.finish();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(archive.data()),
             static_cast<std::streamsize>(archive.size()));
}

// Adds an oci-archive's entries to `tar`: an empty index and one blob, blobs/sha256/big, of
// `size` bytes.
void add_layout_with_blob(test::TarBuilder& tar, std::size_t size) {
  tar.file("oci-layout", R"({"imageLayoutVersion": "1.0.0"})")
      .file("blobs/sha256/big", std::string(size, 'x'))
      .file("index.json", R"({"schemaVersion": 2, "manifests": []})");
}

std::string digest_of(char c) {
  return "sha256:" + std::string(64, c);
}

// An oci-archive whose index carries `entries` (digest character, annotations JSON).
std::filesystem::path oci_archive(const test::TempDir& dir,
                                  const std::vector<std::pair<char, std::string>>& entries) {
  std::string manifests;
  for (const auto& [c, annotations] : entries) {
    manifests += std::string(manifests.empty() ? "" : ",") +
                 R"({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                 digest_of(c) + R"(", "size": 100, "annotations": )" + annotations + "}";
  }
  test::TarBuilder tar;
  tar.file("oci-layout", R"({"imageLayoutVersion": "1.0.0"})")
      .file("index.json", R"({"schemaVersion": 2, "manifests": [)" + manifests + "]}");
  write_tar(dir / "app.tar", tar);
  return dir / "app.tar";
}

// The digest of the entry `tag` selects in the oci-archive, or the error.
std::string chosen(const test::TempDir& dir, const std::filesystem::path& archive,
                   const std::string& tag) {
  std::filesystem::remove_all(dir / "scratch");
  std::filesystem::create_directories(dir / "scratch");
  std::string out;
  const std::string e = test::error_of([&] {
    const auto root =
        registry::open_oci_archive(registry::LocalFiles(), archive, tag, dir / "scratch")->root();
    out = std::get<registry::Descriptor>(root).digest;
  });
  return out.empty() ? e : out;
}

} // namespace

TEST_SUITE("registry::local_sources") {
  TEST_CASE("unpacking an archive consults the interrupt and stops where it throws") {
    test::TempDir dir;
    test::TarBuilder tar;
    add_layout_with_blob(tar, 9 << 20);
    write_tar(dir / "image.tar", tar);
    std::filesystem::create_directories(dir / "scratch");

    int calls = 0;
    const std::string e = test::error_of([&] {
      registry::open_oci_archive(
          registry::LocalFiles(), dir / "image.tar", "", dir / "scratch", [&] {
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
    registry::open_oci_archive(registry::LocalFiles(), dir / "image.tar", "", dir / "scratch",
                               [&] { ++checks; });
    CHECK(std::filesystem::file_size(dir / "scratch" / "blobs" / "sha256" / "big") == 9u << 20);
    CHECK(checks >= 3); // 9 MiB read: before the first byte, then every 4 MiB
  }

  TEST_CASE("links in an archive become hard links to one file, never copies") {
    test::TempDir dir;
    test::TarBuilder tar;
    add_layout_with_blob(tar, 4 << 20);
    for (int i = 0; i < 200; ++i) { // 800 MiB if each were copied, from an archive of 4 MiB
      tar.hardlink("copies/h" + std::to_string(i), "blobs/sha256/big");
    }
    tar.symlink("copies/s", "../blobs/sha256/big").hardlink("copies/h0", "blobs/sha256/big");
    write_tar(dir / "links.tar", tar);
    std::filesystem::create_directories(dir / "scratch");
    registry::open_oci_archive(registry::LocalFiles(), dir / "links.tar", "", dir / "scratch");
    const auto big = dir / "scratch" / "blobs" / "sha256" / "big";
    CHECK(std::filesystem::hard_link_count(big) == 202); // itself, h0..h199 and s
    CHECK(std::filesystem::equivalent(big, dir / "scratch" / "copies" / "s"));
    CHECK(std::filesystem::file_size(dir / "scratch" / "copies" / "h199") == 4u << 20);
  }

  TEST_CASE("podman's oci-archive: the full name or the bare tag select it, errors name the file") {
    test::TempDir dir;
    const auto archive =
        oci_archive(dir, {{'a', R"({"org.opencontainers.image.ref.name": "localhost/pyapp:1"})"}});
    CHECK(chosen(dir, archive, "localhost/pyapp:1") == digest_of('a'));
    CHECK(chosen(dir, archive, "1") == digest_of('a'));
    CHECK(chosen(dir, archive, "") == digest_of('a'));
    const std::string e = chosen(dir, archive, "2");
    CHECK(e == "oci-archive:" + archive.string() +
                   ":2: no image named '2'; the archive has: localhost/pyapp:1");
    CHECK(e.find("scratch") == std::string::npos);
  }

  TEST_CASE("docker 25+'s layout: ref.name is the tag, io.containerd.image.name the full name") {
    test::TempDir dir;
    const auto archive = oci_archive(dir, {{'a', R"({"org.opencontainers.image.ref.name": "1",
                        "io.containerd.image.name": "docker.io/library/pyapp:1"})"},
                                           {'a', R"({"org.opencontainers.image.ref.name": "stable",
                        "io.containerd.image.name": "docker.io/library/pyapp:stable"})"},
                                           {'b', R"({"org.opencontainers.image.ref.name": "1",
                        "io.containerd.image.name": "docker.io/library/other:1"})"}});
    CHECK(chosen(dir, archive, "pyapp:1") == digest_of('a'));
    CHECK(chosen(dir, archive, "stable") == digest_of('a'));
    CHECK(chosen(dir, archive, "other:1") == digest_of('b'));
    CHECK(chosen(dir, archive, "1")
              .find("'1' names 2 different images (1, "
                    "docker.io/library/pyapp:1, 1, "
                    "docker.io/library/other:1)") != std::string::npos);
    CHECK(chosen(dir, archive, "").find("holds several images") != std::string::npos);
  }

  TEST_CASE("an index that lists no image says so") {
    test::TempDir dir;
    const auto archive = oci_archive(dir, {});
    CHECK(chosen(dir, archive, "") ==
          "oci-archive:" + archive.string() + ": the index lists no image");
  }

  TEST_CASE("podman save -m: a tag two images carry is ambiguous, the full name is not") {
    test::TempDir dir;
    test::TarBuilder tar;
    tar.file("manifest.json",
             R"([{"Config": "a.json", "RepoTags": ["localhost/a:1"], "Layers": ["a.tar"]},
                 {"Config": "b.json", "RepoTags": ["localhost/b:1"], "Layers": ["b.tar"]}])");
    write_tar(dir / "multi.tar", tar);
    const auto open = [&](const std::string& tag) {
      std::filesystem::remove_all(dir / "scratch");
      std::filesystem::create_directories(dir / "scratch");
      return test::error_of([&] {
        registry::open_docker_archive(registry::LocalFiles(), dir / "multi.tar", tag,
                                      dir / "scratch")
            ->resolve(registry::Platform::for_arch("x86_64"));
      });
    };
    const std::string subject = "docker-archive:" + (dir / "multi.tar").string();
    CHECK(open("1") == subject + ":1: '1' names 2 different images (localhost/a:1, "
                                 "localhost/b:1); give the full name");
    CHECK(open("") == subject + ": holds 2 images; name one as PATH:NAME (localhost/a:1, "
                                "localhost/b:1)");
    // The full name selects b: resolving it then reads b's config (absent in this archive).
    CHECK(open("localhost/b:1").find("b.json") != std::string::npos);
    CHECK(open("localhost/b:1").find("a.json") == std::string::npos);
  }

  TEST_CASE("docker save's manifest.json with members of the wrong type is corrupt, naming them") {
    // Found by tests/fuzz/fuzz_docker_archive: these escaped as nlohmann::json type errors.
    test::TempDir dir;
    const auto error_for = [&](const std::string& manifest) {
      test::TarBuilder tar;
      tar.file("manifest.json", manifest);
      write_tar(dir / "app.tar", tar);
      std::filesystem::remove_all(dir / "scratch");
      std::filesystem::create_directories(dir / "scratch");
      const auto open = [&] {
        registry::open_docker_archive(registry::LocalFiles(), dir / "app.tar", "", dir / "scratch");
      };
      CHECK(test::code_of(open) == ErrorCode::Corrupt);
      return test::error_of(open);
    };
    const std::string subject = "docker-archive:" + (dir / "app.tar").string() + ": manifest.json";
    CHECK(error_for("[1]") == subject + ": [0]: expected an object, found number");
    CHECK(error_for(R"([{"Config": 5, "Layers": ["l.tar"]}])") ==
          subject + ": [0].Config: expected a string, found number");
    CHECK(error_for(R"([{"Config": "c.json", "Layers": "l.tar"}])") ==
          subject + ": [0].Layers: expected an array of strings, found string");
    CHECK(error_for(R"([{"Config": "c.json", "RepoTags": [7], "Layers": ["l.tar"]}])") ==
          subject + ": [0].RepoTags[0]: expected a string, found number");
  }
}
