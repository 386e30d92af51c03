// The BlobCache conformance suite (blob_cache.hpp's contracts), run through each backend of
// OCI2EIF_BLOB_CACHE_BACKENDS (store_backends.hpp); then what only the directory cache does:
// its temporary files, corrupt-hit recovery, LRU eviction by mtime and the per-blob flock.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/directory_blob_cache.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

// sha256("abc"), FIPS 180-2 appendix B.1.
const std::string kAbc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

void ignore(const std::string&) {
}

std::string digest_of(const std::string& s) {
  return sha256_digest(as_bytes(s));
}

std::filesystem::path put(BlobCache& cache, const std::string& content) {
  return cache.get(digest_of(content), content.size(), "blob " + content,
                   [&](BlobDownload& d) { d.append(as_bytes(content)); });
}

std::string text_of(const std::filesystem::path& path) {
  const Bytes b = test::read_file(path);
  return {b.begin(), b.end()};
}

void set_used(const std::filesystem::path& path, std::int64_t seconds) {
  const timespec t{static_cast<time_t>(seconds), 0};
  const timespec times[2] = {t, t};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

} // namespace

TEST_SUITE("registry::BlobCache") {
  TEST_CASE_TEMPLATE("a fetched blob is verified, stored, and then served without fetching",
                     Backend, OCI2EIF_BLOB_CACHE_BACKENDS) {
    Backend backend;
    auto cache = backend.open({{}, 1 << 20, ignore, {}});
    int fetches = 0;
    auto fetch = [&](BlobDownload& d) {
      ++fetches;
      d.append(as_bytes(std::string("abc")));
    };
    CHECK_FALSE(cache->contains(kAbc));
    const auto path = cache->get(kAbc, 3, "blob abc", fetch);
    CHECK(test::read_file(path).size() == 3);
    CHECK(cache->contains(kAbc));
    cache->get(kAbc, 3, "blob abc", fetch);
    CHECK(fetches == 1);
  }

  TEST_CASE_TEMPLATE("a blob is shared by every cache over the same storage", Backend,
                     OCI2EIF_BLOB_CACHE_BACKENDS) {
    Backend backend;
    auto first = backend.open({{}, 1 << 20, ignore, {}});
    auto second = backend.open({{}, 1 << 20, ignore, {}});
    put(*first, "abc");
    const auto path = second->get(kAbc, 3, "blob abc", [](BlobDownload&) {
      FAIL("a blob the other cache stored is fetched again");
    });
    CHECK(text_of(path) == "abc");
  }

  TEST_CASE_TEMPLATE("a wrong digest or size keeps the blob out of the cache", Backend,
                     OCI2EIF_BLOB_CACHE_BACKENDS) {
    Backend backend;
    auto cache = backend.open({{}, 1 << 20, ignore, {}});
    CHECK_THROWS_WITH_AS(
        cache->get(kAbc, 3, "blob abc",
                   [](BlobDownload& d) { d.append(as_bytes(std::string("abd"))); }),
        doctest::Contains("blob abc: digest mismatch"), Error);
    CHECK_THROWS_WITH_AS(
        cache->get(kAbc, 3, "blob abc",
                   [](BlobDownload& d) { d.append(as_bytes(std::string("abcd"))); }),
        doctest::Contains("more than the 3 bytes"), Error);
    CHECK_THROWS_WITH_AS(cache->get(kAbc, 3, "blob abc",
                                    [](BlobDownload& d) { d.append(as_bytes(std::string("ab"))); }),
                         "blob abc: received 2 bytes, the descriptor states 3", Error);
    CHECK_FALSE(cache->contains(kAbc));
  }

  TEST_CASE_TEMPLATE("a fetch that fails passes its error on and caches nothing", Backend,
                     OCI2EIF_BLOB_CACHE_BACKENDS) {
    Backend backend;
    auto cache = backend.open({{}, 1 << 20, ignore, {}});
    CHECK_THROWS_WITH_AS(cache->get(kAbc, 3, "blob abc",
                                    [](BlobDownload& d) {
                                      d.append(as_bytes(std::string("a")));
                                      throw Error(ErrorCode::Timeout, "registry went quiet");
                                    }),
                         "registry went quiet", Error);
    CHECK_FALSE(cache->contains(kAbc));
    CHECK(text_of(put(*cache, "abc")) == "abc"); // and the next attempt fetches it
  }

  TEST_CASE_TEMPLATE("a digest that is not sha256 is refused before anything is fetched", Backend,
                     OCI2EIF_BLOB_CACHE_BACKENDS) {
    Backend backend;
    auto cache = backend.open({{}, 1 << 20, ignore, {}});
    bool fetched = false;
    try {
      cache->get("sha512:abc", 3, "blob abc", [&](BlobDownload&) { fetched = true; });
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::InvalidInput);
      CHECK(std::string(e.what()).find("'sha512:abc'") != std::string::npos);
    }
    CHECK_FALSE(fetched);
  }
}

TEST_SUITE("registry::DirectoryBlobCache") {
  TEST_CASE("a refused download leaves no temporary file behind") {
    test::TempDir dir;
    DirectoryBlobCache cache(dir.path(), 1 << 20, ignore);
    CHECK_THROWS_AS(cache.get(kAbc, 3, "blob abc",
                              [](BlobDownload& d) { d.append(as_bytes(std::string("abd"))); }),
                    Error);
    CHECK_THROWS_AS(cache.get(kAbc, 3, "blob abc",
                              [](BlobDownload& d) { d.append(as_bytes(std::string("abcd"))); }),
                    Error);
    CHECK(std::filesystem::is_empty(dir / "tmp"));
  }

  TEST_CASE("a blob lives at blobs/sha256/<hex>") {
    test::TempDir dir;
    DirectoryBlobCache cache(dir.path(), 1 << 20, ignore);
    CHECK(put(cache, "abc") == dir / "blobs" / "sha256" / kAbc.substr(7));
  }

  TEST_CASE("a corrupt cached blob is removed and fetched again") {
    test::TempDir dir;
    std::vector<std::string> log;
    DirectoryBlobCache cache(dir.path(), 1 << 20, [&](const std::string& l) { log.push_back(l); });
    auto fetch = [](BlobDownload& d) { d.append(as_bytes(std::string("abc"))); };
    const auto path = cache.get(kAbc, 3, "blob abc", fetch);
    test::write_file(path, as_bytes(std::string("xyz")));
    cache.get(kAbc, 3, "blob abc", fetch);
    CHECK(test::read_file(path) == Bytes{'a', 'b', 'c'});
    REQUIRE(log.size() == 1);
    CHECK(log[0].find("is corrupt") != std::string::npos);
  }

  TEST_CASE("over its bound the cache evicts the least recently used blobs") {
    test::TempDir dir;
    std::vector<std::string> log;
    DirectoryBlobCache cache(dir.path(), 10, [&](const std::string& l) { log.push_back(l); });
    const auto a = put(cache, "aaaa");
    const auto b = put(cache, "bbbb");
    set_used(a, 1000);
    set_used(b, 2000);
    put(cache, "aaaa"); // a hit: a becomes the most recently used
    const auto c = put(cache, "cccc");
    CHECK(std::filesystem::exists(a));
    CHECK_FALSE(std::filesystem::exists(b));
    CHECK(std::filesystem::exists(c));
    REQUIRE(log.size() == 1);
    CHECK(log[0] == "cache: evicted " + b.filename().string() + " (4 bytes, least recently used)");
  }

  TEST_CASE("eviction goes oldest first until the total fits, and keeps the blob just used") {
    test::TempDir dir;
    DirectoryBlobCache cache(dir.path(), 9, ignore);
    const auto a = put(cache, "aaa");
    const auto b = put(cache, "bbb");
    const auto c = put(cache, "ccc");
    set_used(a, 3000);
    set_used(b, 1000);
    set_used(c, 2000);
    const auto big = put(cache, "0123456789ab"); // alone over the bound
    CHECK(std::filesystem::exists(big));
    CHECK_FALSE(std::filesystem::exists(a));
    CHECK_FALSE(std::filesystem::exists(b));
    CHECK_FALSE(std::filesystem::exists(c));
  }

  TEST_CASE("within its bound nothing is evicted") {
    test::TempDir dir;
    DirectoryBlobCache cache(dir.path(), 12, ignore);
    const auto a = put(cache, "aaaa");
    set_used(a, 1000);
    put(cache, "bbbb");
    put(cache, "cccc");
    CHECK(std::filesystem::exists(a));
  }

  TEST_CASE("a build waiting for another's download of the blob stops when interrupted") {
    test::TempDir dir;
    const std::string content = "a blob another process is fetching";
    const std::string digest = digest_of(content);
    int checks = 0;
    DirectoryBlobCache cache(dir.path(), 1 << 20, ignore, [&] {
      if (++checks == 3) {
        throw Error(ErrorCode::Cancelled, "cancelled while waiting");
      }
    });
    // The other process's lock: its own open file description, so flock() excludes us.
    const auto lock_path = dir / "locks" / (digest.substr(7) + ".lock");
    const int other = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(other >= 0);
    REQUIRE(::flock(other, LOCK_EX) == 0);
    bool fetched = false;
    CHECK_THROWS_WITH_AS(
        cache.get(digest, content.size(), "blob", [&](BlobDownload&) { fetched = true; }),
        "cancelled while waiting", Error);
    ::close(other);
    CHECK_FALSE(fetched);
    CHECK(checks == 3);
    CHECK(text_of(put(cache, content)) == content); // once the lock is free, as usual
  }

  TEST_CASE("an interrupt while a hit is re-hashed stops the build and keeps the blob") {
    test::TempDir dir;
    const std::string content(3 << 20, 'x');
    DirectoryBlobCache filler(dir.path(), 1 << 30, ignore);
    const auto path = put(filler, content);
    DirectoryBlobCache cache(dir.path(), 1 << 30, ignore,
                             [] { throw Error(ErrorCode::Cancelled, "cancelled on request"); });
    CHECK_THROWS_WITH_AS(put(cache, content), "cancelled on request", Error);
    CHECK(std::filesystem::exists(path)); // not mistaken for a corrupt blob and removed
  }
}
