// The layer cache's shared S3 level between replicas, against a real S3 server
// (tests/services/s3.py): one replica's pull serves another, and a bad shared copy is refused.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/directory_blob_cache.hpp"
#include "server/s3_blob_store.hpp"
#include "server/s3_client.hpp"
#include "tests/unit/s3_service.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

const std::string kLayer = "layer bytes a registry served";

struct Replicas {
  std::string prefix = test::fresh_s3_prefix();
  std::shared_ptr<server::S3Client> s3 = test::s3_client(prefix);
  std::shared_ptr<SharedBlobStore> shared = server::open_s3_blob_store(s3);
  std::vector<std::string> log;
  test::TempDir first_dir, second_dir;
  DirectoryBlobCache first{
      first_dir.path(), 1 << 20, [this](const std::string& l) { log.push_back(l); }, {}, shared};
  DirectoryBlobCache second{
      second_dir.path(), 1 << 20, [this](const std::string& l) { log.push_back(l); }, {}, shared};
  std::string key() const {
    return prefix + "blobs/sha256/" + sha256_digest(as_bytes(kLayer)).substr(7);
  }
};

std::string text_of(const std::filesystem::path& path) {
  const Bytes b = test::read_file(path);
  return {b.begin(), b.end()};
}

} // namespace

TEST_SUITE("server::S3BlobStore") {
  TEST_CASE_TEMPLATE("a blob one replica pulled is served to another without the registry", Service,
                     test::S3Service) {
    Replicas r;
    const std::string digest = sha256_digest(as_bytes(kLayer));
    int fetches = 0;
    const auto fetch = [&](BlobDownload& d) {
      ++fetches;
      d.append(as_bytes(kLayer));
    };
    r.first.get(digest, kLayer.size(), "layer", fetch);
    CHECK(r.s3->get_object(r.key()) == kLayer);
    CHECK(r.shared->contains(digest));
    CHECK_FALSE(r.second.contains(digest));
    const auto path = r.second.get(digest, kLayer.size(), "layer", [](BlobDownload&) {
      FAIL("the registry was asked for a blob the shared cache holds");
    });
    CHECK(text_of(path) == kLayer);
    CHECK(path.parent_path() == r.second_dir / "blobs" / "sha256");
    CHECK(fetches == 1);
    CHECK(r.log.empty());
  }

  TEST_CASE_TEMPLATE("a corrupt shared copy is refused, fetched from the registry and repaired",
                     Service, test::S3Service) {
    Replicas r;
    const std::string digest = sha256_digest(as_bytes(kLayer));
    std::string tampered = kLayer;
    tampered[0] ^= 1;
    r.s3->put_object(r.key(), tampered);
    int fetches = 0;
    const auto path = r.second.get(digest, kLayer.size(), "layer", [&](BlobDownload& d) {
      ++fetches;
      d.append(as_bytes(kLayer));
    });
    CHECK(text_of(path) == kLayer);
    CHECK(fetches == 1);
    REQUIRE(r.log.size() == 1);
    CHECK(r.log[0].find("shared cache copy of blob " + digest +
                        " refused (layer: digest mismatch") == 0);
    CHECK(r.s3->get_object(r.key()) == kLayer);
  }

  TEST_CASE_TEMPLATE("a shared copy too long or unreachable falls back to the registry", Service,
                     test::S3Service) {
    Replicas r;
    const std::string digest = sha256_digest(as_bytes(kLayer));
    r.s3->put_object(r.key(), kLayer + "trailing");
    int fetches = 0;
    r.second.get(digest, kLayer.size(), "layer", [&](BlobDownload& d) {
      ++fetches;
      d.append(as_bytes(kLayer));
    });
    CHECK(fetches == 1);
    server::S3Options down = r.s3->options();
    down.endpoint = "http://127.0.0.1:1";
    test::TempDir dir;
    std::vector<std::string> log;
    DirectoryBlobCache offline(
        dir.path(), 1 << 20, [&](const std::string& l) { log.push_back(l); }, {},
        server::open_s3_blob_store(
            std::make_shared<server::S3Client>(down, server::AwsCredentials{"id", "secret", ""})));
    CHECK(text_of(offline.get(digest, kLayer.size(), "layer",
                              [](BlobDownload& d) { d.append(as_bytes(kLayer)); })) == kLayer);
    REQUIRE(log.size() == 2); // the refused fetch, then the failed put
    CHECK(log[1].find("could not be stored in the shared cache") != std::string::npos);
  }
}
