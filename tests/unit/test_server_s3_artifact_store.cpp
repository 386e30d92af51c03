// What only the S3 artifact store does, against a real S3 server (tests/services/s3.py): its
// keys (content under its digest, the pointer written last), multipart for a large EIF, and
// a reader outliving remove() for what it buffered. The conformance suite runs on it too.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "server/s3_client.hpp"
#include "tests/unit/s3_service.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_support.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <random>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

const std::string kBuild = "b-0123456789abcdef0123456789abcdef";

std::string random_bytes(std::size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return s;
}

std::string read_span(ArtifactReader& reader, std::uint64_t offset, std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const std::size_t got = reader.read_at(
        offset + done, std::span(reinterpret_cast<std::uint8_t*>(out.data()) + done, n - done));
    REQUIRE(got > 0);
    done += got;
  }
  return out;
}

} // namespace

TEST_SUITE("server::S3ArtifactStore") {
  TEST_CASE_TEMPLATE("content goes under its digest and the pointer names it", Service,
                     test::S3Service) {
    const std::string p = test::fresh_s3_prefix();
    const auto s3 = test::s3_client(p);
    const auto store = open_s3_artifact_store(s3);
    const ArtifactInfo info = store->publish(kBuild, "pcr.json", "abc");
    const std::string dir = p + "artifacts/" + kBuild + "/";
    CHECK(s3->list(dir) ==
          std::vector<std::string>{dir + "pcr.json.json", dir + "sha256-" + info.sha256.substr(7)});
    CHECK(s3->get_object(dir + "pcr.json.json") ==
          R"({"sha256":")" + info.sha256 + R"(","size":3})");
    CHECK_FALSE(store->check_health());
  }

  TEST_CASE_TEMPLATE("an EIF over 64 MiB goes up in parts and reads back byte for byte", Service,
                     test::S3Service) {
    const std::string p = test::fresh_s3_prefix();
    const auto s3 = test::s3_client(p);
    const auto store = open_s3_artifact_store(s3);
    const std::string content = random_bytes((65 << 20) + 12345);
    test::TempDir scratch;
    test::write_file(scratch / "image.eif", as_bytes(content));
    const auto start = std::chrono::steady_clock::now();
    const ArtifactInfo info = store->publish_file(kBuild, "image.eif", scratch / "image.eif",
                                                  sha256_digest(as_bytes(content)));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    MESSAGE("multipart upload of " << content.size() / 1e6 << " MB: " << took.count() << " s, "
                                   << content.size() / 1e6 / took.count() << " MB/s");
    CHECK(info.sha256 == sha256_digest(as_bytes(content)));
    // A multipart object's ETag is "<md5 of the parts' md5s>-<part count>": 16 MiB parts.
    const auto head = s3->send(
        {"HEAD", p + "artifacts/" + kBuild + "/sha256-" + info.sha256.substr(7), "", "", "", ""});
    CHECK(head.etag.find("-5\"") != std::string::npos);
    const auto reader = store->open(kBuild, "image.eif");
    REQUIRE(reader);
    CHECK(reader->size() == content.size());
    for (const std::uint64_t offset :
         {std::uint64_t{0}, std::uint64_t{(16 << 20) - 3}, std::uint64_t{40 << 20} + 7,
          std::uint64_t{content.size() - 100}}) {
      CHECK(read_span(*reader, offset, 100) == content.substr(offset, 100));
    }
    const auto whole_start = std::chrono::steady_clock::now();
    CHECK(read_span(*reader, 0, content.size()) == content);
    const std::chrono::duration<double> read_took = std::chrono::steady_clock::now() - whole_start;
    MESSAGE("ranged read-back: " << content.size() / 1e6 / read_took.count() << " MB/s");
  }

  TEST_CASE_TEMPLATE("a reader keeps its buffered window after the build is removed", Service,
                     test::S3Service) {
    const auto store = open_s3_artifact_store(test::s3_client(test::fresh_s3_prefix()));
    const std::string content = random_bytes(3 << 20);
    store->publish(kBuild, "rootfs.txt", content);
    const auto reader = store->open(kBuild, "rootfs.txt");
    REQUIRE(reader);
    store->remove(kBuild);
    CHECK_FALSE(store->open(kBuild, "rootfs.txt"));
    CHECK(read_span(*reader, 1000, 1000) == content.substr(1000, 1000)); // the first window
    std::array<std::uint8_t, 16> buf{};
    CHECK(test::error_of([&] {
            reader->read_at(2 << 20, buf);
          }).find("artifact rootfs.txt of build " + kBuild + ": removed while being read") == 0);
  }
}
