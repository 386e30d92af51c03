// Credential helpers from docker's config.json, and the --registry-mirror syntax.
#include "core/error.hpp"
#include "registry/credentials.hpp"
#include "registry/registry_source.hpp"
#include "tests/unit/test_support.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <optional>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

std::string text_of(const std::filesystem::path& path) {
  const Bytes b = test::read_file(path);
  return {b.begin(), b.end()};
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

  TEST_CASE("credsStore applies to every registry - <token> means an identity token") {
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
