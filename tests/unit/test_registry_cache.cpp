// The blob cache's size bound (LRU eviction), credential helpers from docker's config.json, and
// the --registry-mirror syntax.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/credentials.hpp"
#include "registry/directory_blob_cache.hpp"
#include "registry/registry_source.hpp"
#include "tests/unit/test_support.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <optional>
#include <sys/file.h>
#include <sys/stat.h>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

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

// Sets an environment variable for one scope.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
  const char* name_;
  std::optional<std::string> old_;
};

// Writes an executable docker-credential-test into `dir` whose `get` prints `json` after
// saving the server name it read from stdin to dir/asked.
void fake_helper(const std::filesystem::path& dir, const std::string& json, int status = 0) {
  const auto path = dir / "docker-credential-test";
  const std::string script = "#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat >\"" + dir.string() +
                             "/asked\"\nprintf '%s' '" + json + "'\nexit " +
                             std::to_string(status) + "\n";
  test::write_file(path, as_bytes(script));
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

} // namespace

TEST_SUITE("registry::BlobCache") {
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
    DirectoryBlobCache cache(dir.path(), 9, [](const std::string&) {});
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
    DirectoryBlobCache cache(dir.path(), 12, [](const std::string&) {});
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
    DirectoryBlobCache cache(
        dir.path(), 1 << 20, [](const std::string&) {},
        [&] {
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
    DirectoryBlobCache filler(dir.path(), 1 << 30, [](const std::string&) {});
    const auto path = put(filler, content);
    DirectoryBlobCache cache(
        dir.path(), 1 << 30, [](const std::string&) {},
        [] { throw Error(ErrorCode::Cancelled, "cancelled on request"); });
    CHECK_THROWS_WITH_AS(put(cache, content), "cancelled on request", Error);
    CHECK(std::filesystem::exists(path)); // not mistaken for a corrupt blob and removed
  }
}

TEST_SUITE("registry::credentials") {
  TEST_CASE("credHelpers runs docker-credential-<name> get for that registry") {
    test::TempDir dir;
    fake_helper(dir.path(), R"({"ServerURL":"r.example:5000","Username":"u","Secret":"s3"})");
    test::write_file(dir / "config.json",
                     as_bytes(std::string(R"({"credHelpers":{"r.example:5000":"test"}})")));
    ScopedEnv path("PATH", dir.path().string() + ":/usr/bin:/bin");
    const auto c = load_docker_credentials(dir / "config.json", "r.example:5000");
    REQUIRE(c);
    CHECK(c->username == "u");
    CHECK(c->password == "s3");
    CHECK(text_of(dir / "asked") == "r.example:5000\n");
    CHECK_FALSE(load_docker_credentials(dir / "config.json", "other.example"));
  }

  TEST_CASE("credsStore applies to every registry; <token> means an identity token") {
    test::TempDir dir;
    fake_helper(dir.path(), R"({"Username":"<token>","Secret":"refresh-1"})");
    test::write_file(dir / "config.json", as_bytes(std::string(R"({"credsStore":"test"})")));
    ScopedEnv path("PATH", dir.path().string() + ":/usr/bin:/bin");
    const auto c = load_docker_credentials(dir / "config.json", "docker.io");
    REQUIRE(c);
    CHECK(c->identity_token == "refresh-1");
    CHECK(c->password.empty());
    CHECK(text_of(dir / "asked") == "https://index.docker.io/v1/\n");
  }

  TEST_CASE("a failing or missing helper is an error naming it, without its output") {
    test::TempDir dir;
    fake_helper(dir.path(), "secret-in-output", 1);
    test::write_file(dir / "config.json", as_bytes(std::string(R"({"credsStore":"test"})")));
    ScopedEnv path("PATH", dir.path().string() + ":/usr/bin:/bin");
    const std::string e =
        test::error_of([&] { load_docker_credentials(dir / "config.json", "h:1"); });
    CHECK(e == "docker-credential-test get for h:1 failed (exit status 1)");
    test::write_file(dir / "config.json", as_bytes(std::string(R"({"credsStore":"absent"})")));
    CHECK(test::error_of([&] {
            load_docker_credentials(dir / "config.json", "h:1");
          }).find("docker-credential-absent get for h:1 failed (not found on PATH)") !=
          std::string::npos);
  }
}

TEST_SUITE("registry::mirrors") {
  TEST_CASE("--registry-mirror DOMAIN=URL") {
    const Mirror m = parse_mirror("docker.io=http://127.0.0.1:5000/");
    CHECK(m.domain == "docker.io");
    CHECK(m.url == "http://127.0.0.1:5000");
    CHECK(parse_mirror("index.docker.io=https://m.example").domain == "docker.io");
    CHECK(parse_mirror("r.example:5000=https://m.example").domain == "r.example:5000");
    CHECK(test::error_of([] { parse_mirror("docker.io"); }).find("expected DOMAIN=URL") !=
          std::string::npos);
    CHECK(test::error_of([] {
            parse_mirror("docker.io=m.example");
          }).find("http:// or https:// URL with a host and no path") != std::string::npos);
    CHECK(test::error_of([] { parse_mirror("docker.io=https://m.example/v2"); }).find("no path") !=
          std::string::npos);
    CHECK(test::error_of([] {
            parse_mirror("busybox=https://m.example");
          }).find("'busybox' is not a registry domain") != std::string::npos);
  }
}
