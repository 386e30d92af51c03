// The ArtifactStore conformance suite (artifact_store.hpp's contracts), run through each backend
// of OCI2EIF_ARTIFACT_STORE_BACKENDS (store_backends.hpp); then the directory store's layout.
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_support.hpp"

#include <array>
#include <doctest/doctest.h>
#include <span>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

const std::string kBuild = "b-0123456789abcdef0123456789abcdef";
const std::string kOther = "b-fedcba9876543210fedcba9876543210";
// sha256("abc"), FIPS 180-2 appendix B.1.
const std::string kAbc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

std::string read_artifact(const ArtifactStore& store, const std::string& id,
                          const std::string& name) {
  const auto reader = store.open(id, name);
  REQUIRE(reader);
  std::string text(static_cast<std::size_t>(reader->size()), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const std::size_t n = reader->read_at(
        done, std::span(reinterpret_cast<std::uint8_t*>(text.data()) + done, text.size() - done));
    REQUIRE(n > 0);
    done += n;
  }
  return text;
}

using test::code_of;

} // namespace

TEST_SUITE("server::ArtifactStore") {
  TEST_CASE_TEMPLATE("a published artifact can be read back, with its size and sha256", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    auto store = backend.open();
    const ArtifactInfo info = store->publish(kBuild, "pcr.json", "abc");
    CHECK(info.name == "pcr.json");
    CHECK(info.size == 3);
    CHECK(info.sha256 == kAbc);
    CHECK(read_artifact(*store, kBuild, "pcr.json") == "abc");
    CHECK(read_artifact(*backend.open(), kBuild, "pcr.json") == "abc"); // another store sees it
  }

  TEST_CASE_TEMPLATE("publishing a name again replaces the whole artifact", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    auto store = backend.open();
    store->publish(kBuild, "build.log", "a longer first version\n");
    CHECK(store->publish(kBuild, "build.log", "abc").size == 3);
    CHECK(read_artifact(*store, kBuild, "build.log") == "abc");
  }

  TEST_CASE_TEMPLATE("publish_file takes a local file, which is gone afterwards", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    test::TempDir scratch;
    const auto file = scratch / "image.eif";
    test::write_file(file, as_bytes(std::string("abc")));
    const ArtifactInfo info = backend.open()->publish_file(kBuild, "image.eif", file, kAbc);
    CHECK(info.size == 3);
    CHECK(info.sha256 == kAbc);
    CHECK_FALSE(std::filesystem::exists(file));
    CHECK(read_artifact(*backend.open(), kBuild, "image.eif") == "abc");
  }

  TEST_CASE_TEMPLATE("publish_file refuses a digest that is not one and leaves the file", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    test::TempDir scratch;
    const auto file = scratch / "image.eif";
    test::write_file(file, as_bytes(std::string("abc")));
    for (const std::string& bad :
         {std::string(""), kAbc.substr(7), std::string("sha256:../../x")}) {
      CAPTURE(bad);
      CHECK(code_of([&] { backend.open()->publish_file(kBuild, "image.eif", file, bad); }) ==
            ErrorCode::InvalidInput);
    }
    CHECK(std::filesystem::exists(file));
    CHECK(backend.open()->open(kBuild, "image.eif") == nullptr);
  }

  TEST_CASE_TEMPLATE("an artifact reads from any offset, as HTTP Range requests need", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    auto store = backend.open();
    store->publish(kBuild, "rootfs.txt", "0123456789");
    const auto reader = store->open(kBuild, "rootfs.txt");
    REQUIRE(reader);
    CHECK(reader->size() == 10);
    std::array<std::uint8_t, 3> part{};
    CHECK(reader->read_at(4, part) == 3);
    CHECK(std::string(part.begin(), part.end()) == "456");
    CHECK(reader->read_at(9, part) == 1);
    CHECK(part[0] == '9');
    CHECK(reader->read_at(10, part) == 0);
  }

  TEST_CASE_TEMPLATE("a reader opened before remove() still reads the whole artifact", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    auto store = backend.open();
    store->publish(kBuild, "build.log", "abc");
    const auto reader = store->open(kBuild, "build.log");
    REQUIRE(reader);
    store->remove(kBuild);
    std::array<std::uint8_t, 8> buf{};
    CHECK(reader->read_at(0, buf) == 3);
    CHECK(std::string(buf.begin(), buf.begin() + 3) == "abc");
  }

  TEST_CASE_TEMPLATE("a missing artifact, an unknown build or a foreign name is not found", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    auto store = backend.open();
    store->publish(kBuild, "pcr.json", "{}");
    CHECK_FALSE(store->open(kBuild, "build.json"));
    CHECK_FALSE(store->open(kOther, "pcr.json"));
    CHECK_FALSE(store->open(kBuild, "jobs.db"));
    CHECK_FALSE(store->open("../" + kBuild, "pcr.json"));
    CHECK_FALSE(store->open(kBuild, "../" + kBuild + "/pcr.json"));
  }

  TEST_CASE_TEMPLATE("an id or a name that could point elsewhere is refused, naming it", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    auto store = backend.open();
    CHECK(test::error_of([&] { store->publish("../etc", "pcr.json", "x"); }) ==
          "'../etc' is not a build id");
    CHECK(code_of([&] { store->publish("../etc", "pcr.json", "x"); }) == ErrorCode::InvalidInput);
    CHECK(test::error_of([&] { store->publish(kBuild, "../passwd", "x"); }) ==
          "build " + kBuild + ": '../passwd' is not an artifact name");
    test::TempDir scratch;
    test::write_file(scratch / "f", as_bytes(std::string("x")));
    CHECK(code_of([&] { store->publish_file(kBuild, "f", scratch / "f", kAbc); }) ==
          ErrorCode::InvalidInput);
  }

  TEST_CASE_TEMPLATE("remove deletes every artifact of that build and no other", Backend,
                     OCI2EIF_ARTIFACT_STORE_BACKENDS) {
    Backend backend;
    auto store = backend.open();
    store->publish(kBuild, "pcr.json", "1");
    store->publish(kBuild, "build.log", "2");
    store->publish(kOther, "pcr.json", "3");
    store->remove(kBuild);
    CHECK_FALSE(store->open(kBuild, "pcr.json"));
    CHECK_FALSE(store->open(kBuild, "build.log"));
    CHECK(read_artifact(*store, kOther, "pcr.json") == "3");
    store->remove(kBuild);         // nothing left: no error
    store->remove("../" + kOther); // not an id of ours: no error, nothing removed
    CHECK(store->open(kOther, "pcr.json"));
  }

  TEST_CASE("the artifact names are the seven a build publishes") {
    for (const char* name : {"image.eif", "pcr.json", "describe.json", "build.json", "rootfs.txt",
                             "build.log", "provenance.intoto.jsonl"}) {
      CHECK(is_artifact_name(name));
    }
    CHECK_FALSE(is_artifact_name("image.eif.tmp"));
    CHECK_FALSE(is_artifact_name(""));
    CHECK(is_build_id(kBuild));
    CHECK_FALSE(is_build_id("b-0123456789ABCDEF0123456789abcdef")); // upper case
    CHECK_FALSE(is_build_id("b-0123"));
  }
}

TEST_SUITE("server::DirectoryArtifactStore") {
  TEST_CASE("artifacts live at <root>/<build id>/<name>, with no temporary files left") {
    test::TempDir dir;
    auto store = open_directory_artifact_store(dir / "artifacts");
    store->publish(kBuild, "pcr.json", "abc");
    store->publish(kBuild, "build.json", "{}");
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir / "artifacts" / kBuild)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"build.json", "pcr.json"});
    const Bytes published = test::read_file(dir / "artifacts" / kBuild / "pcr.json");
    CHECK(std::string(published.begin(), published.end()) == "abc");
  }
}
