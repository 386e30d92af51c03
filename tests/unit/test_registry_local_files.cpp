// Local images read for remote callers are opened beneath the allowed directory's handle: each
// way out (`..`, absolute and relative links, /proc magic links) is tried against a real
// directory tree, next to the unrestricted opener that does follow them.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/image_source.hpp"
#include "registry/local_files.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <unistd.h>

using namespace oci2eif;
using registry::LocalFiles;

namespace {

const std::string kSecret = "SECRET-token-0123456789abcdef0123456789";

std::string contents(const LocalFiles& files, const std::filesystem::path& path) {
  const Bytes data = read_small_file(*files.open_file(path), 1 << 20);
  return std::string(data.begin(), data.end());
}

// root/ holds app/ (a file, links in and out); secret.txt lies beside root/.
struct Tree {
  test::TempDir dir;
  std::filesystem::path root = std::filesystem::canonical(dir.path()) / "root";
  std::filesystem::path secret = std::filesystem::canonical(dir.path()) / "secret.txt";

  Tree() {
    std::filesystem::create_directories(root / "app");
    std::filesystem::create_directories(root / "shared");
    std::ofstream(root / "shared" / "blob") << "inside";
    std::ofstream(secret) << kSecret;
    std::filesystem::create_symlink(secret, root / "app" / "absolute");
    std::filesystem::create_symlink("../../secret.txt", root / "app" / "relative");
    std::filesystem::create_symlink("../shared/blob", root / "app" / "inside");
    std::filesystem::create_directory_symlink(dir.path(), root / "app" / "up");
  }
};

} // namespace

TEST_SUITE("registry::local_files") {
  TEST_CASE("beneath a root: files and links that stay below it open") {
    Tree t;
    const LocalFiles files = LocalFiles::beneath(t.root);
    CHECK(contents(files, t.root / "shared" / "blob") == "inside");
    CHECK(contents(files, t.root / "app" / "inside") == "inside");
    CHECK(contents(files, t.root / "app" / ".." / "shared" / "blob") == "inside");
    CHECK(files.is_regular_file(t.root / "app" / "inside"));
    CHECK_FALSE(files.is_regular_file(t.root / "app"));
    CHECK_FALSE(files.is_regular_file(t.root / "missing"));
    CHECK(test::code_of([&] { files.open_file(t.root / "missing"); }) == ErrorCode::Io);
  }

  TEST_CASE("beneath a root: `..`, absolute and relative links out are refused") {
    Tree t;
    const LocalFiles files = LocalFiles::beneath(t.root);
    const LocalFiles anywhere;
    for (const auto& path :
         {t.root / "app" / "absolute", t.root / "app" / "relative",
          t.root / "app" / "up" / "secret.txt", t.root / ".." / "secret.txt", t.secret}) {
      CAPTURE(path);
      CHECK(contents(anywhere, path) == kSecret); // the way out is real
      const std::string e = test::error_of([&] { files.open_file(path); });
      CHECK(e.find("leads outside " + t.root.string()) != std::string::npos);
      CHECK(e.find("SECRET") == std::string::npos);
      CHECK(test::code_of([&] { files.open_file(path); }) == ErrorCode::InvalidInput);
      CHECK(test::code_of([&] { files.is_regular_file(path); }) == ErrorCode::InvalidInput);
      CHECK(test::code_of([&] { files.check_path(path); }) == ErrorCode::InvalidInput);
    }
    CHECK_NOTHROW(files.check_path(t.root / "app" / "not-yet"));
  }

  TEST_CASE("a /proc magic link below the root is not followed") {
    Tree t;
    const std::filesystem::path via_proc =
        "/proc/" + std::to_string(::getpid()) + "/root" + t.secret.string();
    CHECK(contents(LocalFiles(), via_proc) == kSecret);
    const LocalFiles proc = LocalFiles::beneath("/proc/" + std::to_string(::getpid()));
    CHECK(test::error_of([&] { proc.open_file(via_proc); }).find("leads outside") !=
          std::string::npos);
  }

  TEST_CASE("an OCI layout read beneath its root does not follow index.json or blobs/ out") {
    Tree t;
    // A real layout outside the root: index.json names a manifest blob, stored in blobs/.
    const std::filesystem::path out = t.dir / "out";
    const std::string manifest = R"({"schemaVersion": 2})";
    const std::string digest = sha256_digest(as_bytes(manifest));
    std::filesystem::create_directories(out / "blobs" / "sha256");
    // Not the manifest: other bytes of its size, so the digest check reads them to the end.
    const std::string planted = kSecret.substr(0, manifest.size());
    std::ofstream(out / "blobs" / "sha256" / digest.substr(7)) << planted;
    const std::string index =
        R"({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
        digest + R"(", "size": )" + std::to_string(manifest.size()) + "}]}";
    const std::filesystem::path layout = t.root / "layout";
    std::filesystem::create_directories(layout);
    std::ofstream(layout / "oci-layout") << R"({"imageLayoutVersion": "1.0.0"})";
    std::ofstream(layout / "index.json") << index;
    std::filesystem::create_directory_symlink(out / "blobs", layout / "blobs");
    const registry::Descriptor d{
        registry::media_type::kOciManifest, digest, manifest.size(), std::nullopt, {}};

    // Unrestricted, the digest check reads the file outside and names its digest.
    const std::string leaked_digest = sha256_digest(as_bytes(planted));
    const std::string followed = test::error_of(
        [&] { read_blob(*registry::open_oci_layout(LocalFiles(), layout, ""), d, 1 << 20); });
    CAPTURE(followed);
    CHECK(followed.find(leaked_digest) != std::string::npos);

    const LocalFiles files = LocalFiles::beneath(t.root);
    const std::string sealed = test::error_of(
        [&] { read_blob(*registry::open_oci_layout(files, layout, ""), d, 1 << 20); });
    CHECK(sealed.find("leads outside") != std::string::npos);
    CHECK(sealed.find(leaked_digest) == std::string::npos);

    std::filesystem::remove(layout / "index.json");
    std::filesystem::create_symlink(t.secret, layout / "index.json");
    const std::string index_out =
        test::error_of([&] { registry::open_oci_layout(files, layout, "")->root(); });
    CHECK(index_out.find("leads outside") != std::string::npos);
    CHECK(index_out.find("SECRET") == std::string::npos);
  }

  TEST_CASE("an archive is opened beneath the root too") {
    Tree t;
    const std::string e = test::error_of([&] {
      registry::open_oci_archive(LocalFiles::beneath(t.root), t.root / "app" / "absolute", "",
                                 t.dir / "scratch");
    });
    CHECK(e.find("leads outside") != std::string::npos);
  }
}
