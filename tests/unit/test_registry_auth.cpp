#include "core/base64.hpp"
#include "core/error.hpp"
#include "registry/auth.hpp"
#include "registry/credentials.hpp"
#include "registry/http_client.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>

using namespace oci2eif;
using namespace oci2eif::registry;

TEST_SUITE("registry::auth") {
  TEST_CASE("merge_scopes joins the actions asked for one repository") {
    CHECK(merge_scopes("repository:a/b:pull", "repository:a/b:pull,push") ==
          "repository:a/b:pull,push");
    CHECK(merge_scopes("repository:a/b:push,pull", "repository:a/b:pull") ==
          "repository:a/b:push,pull");
    CHECK(merge_scopes("repository:a/b:pull", "") == "repository:a/b:pull");
    CHECK(merge_scopes("", "") == "");
  }

  TEST_CASE("merge_scopes keeps other resources apart, in first-seen order") {
    CHECK(merge_scopes("repository:x:pull repository:a:pull", "repository:a:pull,push") ==
          "repository:x:pull repository:a:pull,push");
    CHECK(merge_scopes("registry:catalog:*", "repository:a:pull") ==
          "registry:catalog:* repository:a:pull");
  }

  TEST_CASE("a Bearer challenge yields realm, service and scope") {
    const auto c = parse_www_authenticate(
        R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push")");
    REQUIRE(c.size() == 1);
    CHECK(c[0].scheme == "bearer");
    CHECK(c[0].params.at("realm") == "https://auth.example.com/token");
    CHECK(c[0].params.at("service") == "registry.example.com");
    CHECK(c[0].params.at("scope") == "repository:a/b:pull,push");
  }

  TEST_CASE("Basic challenges, unquoted values, escapes and several challenges") {
    const auto c = parse_www_authenticate(R"(Basic realm="a \"q\" b", Bearer realm=x,error=y)");
    REQUIRE(c.size() == 2);
    CHECK(c[0].scheme == "basic");
    CHECK(c[0].params.at("realm") == R"(a "q" b)");
    CHECK(c[1].params.at("realm") == "x");
    CHECK(c[1].params.at("error") == "y");
    CHECK(parse_www_authenticate("").empty());
  }

  TEST_CASE("base64 round-trips and rejects garbage") {
    for (const std::string s : {"", "a", "ab", "abc", "user:pa:ss"}) {
      CHECK(base64_decode(base64_encode(s), "t") == s);
    }
    CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
    CHECK_THROWS_AS(base64_decode("a*b", "t"), Error);
  }

  TEST_CASE("docker config: auths by domain, docker.io keys, identity tokens") {
    test::TempDir dir;
    const auto path = dir / "config.json";
    std::ofstream(path) << R"({"auths":{
      "https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
      "127.0.0.1:5000":{"auth":"YTpiOmM="},
      "ghcr.io":{"identitytoken":"refresh"}}})";
    const auto hub = load_docker_credentials(path, "docker.io");
    REQUIRE(hub);
    CHECK(hub->username == "user");
    CHECK(hub->password == "pass");
    const auto local = load_docker_credentials(path, "127.0.0.1:5000");
    REQUIRE(local);
    CHECK(local->password == "b:c");
    CHECK(load_docker_credentials(path, "ghcr.io")->identity_token == "refresh");
    CHECK_FALSE(load_docker_credentials(path, "quay.io"));
    CHECK_FALSE(load_docker_credentials(dir / "missing.json", "quay.io"));
  }

  TEST_CASE("a malformed auth entry is an error that does not echo the secret") {
    test::TempDir dir;
    std::ofstream(dir / "config.json") << R"({"auths":{"r.io":{"auth":"c2VjcmV0"}}})";
    try {
      load_docker_credentials(dir / "config.json", "r.io");
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("secret") == std::string::npos);
      CHECK(std::string(e.what()).find("user:password") != std::string::npos);
    }
  }

  TEST_CASE("a missing credential helper fails naming it") {
    test::TempDir dir;
    std::ofstream(dir / "config.json") << R"({"credsStore":"oci2eif-test-absent"})";
    CHECK_THROWS_WITH_AS(load_docker_credentials(dir / "config.json", "r.io"),
                         doctest::Contains("docker-credential-oci2eif-test-absent"), Error);
  }

  TEST_CASE("redirect locations resolve against the answering URL") {
    CHECK(url_origin("https://A.example:443/v2/x?y") == "https://a.example:443");
    CHECK(resolve_location("http://h:1/v2/a/blobs/x", "/files/b") == "http://h:1/files/b");
    CHECK(resolve_location("http://h:1/v2/a", "https://cdn/x") == "https://cdn/x");
    CHECK(resolve_location("https://h/v2/a", "//cdn/x") == "https://cdn/x");
  }
}
