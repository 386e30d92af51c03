#include "core/error.hpp"
#include "registry/reference.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using registry::Reference;

namespace {
const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string error_of(const std::string& text) {
  try {
    Reference::parse(text);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::InvalidInput);
    return e.what();
  }
  return "";
}
} // namespace

TEST_SUITE("registry::Reference") {
  TEST_CASE("a bare name is a docker.io library image tagged latest") {
    const Reference r = Reference::parse("busybox");
    CHECK(r.domain == "docker.io");
    CHECK(r.repository == "library/busybox");
    CHECK(r.tag == "latest");
    CHECK(r.digest.empty());
    CHECK(r.api_host() == "registry-1.docker.io");
    CHECK(r.to_string() == "docker.io/library/busybox:latest");
    CHECK(r.manifest_ref() == "latest");
  }

  TEST_CASE("docker.io user images keep their namespace and index.docker.io is docker.io") {
    CHECK(Reference::parse("user/app:1.0").to_string() == "docker.io/user/app:1.0");
    CHECK(Reference::parse("index.docker.io/busybox").to_string() ==
          "docker.io/library/busybox:latest");
    CHECK(Reference::parse("docker.io/library/busybox:1").repository == "library/busybox");
  }

  TEST_CASE("a host with a port, nested paths and a tag") {
    const Reference r = Reference::parse("registry.example.com:5000/team/sub/app:v1.2-rc_3");
    CHECK(r.domain == "registry.example.com:5000");
    CHECK(r.repository == "team/sub/app");
    CHECK(r.tag == "v1.2-rc_3");
    CHECK(r.host_name() == "registry.example.com");
    CHECK_FALSE(r.is_loopback());
  }

  TEST_CASE("digests, alone or with a tag") {
    const Reference pinned = Reference::parse("ghcr.io/org/app@" + kDigest);
    CHECK(pinned.tag.empty());
    CHECK(pinned.digest == kDigest);
    CHECK(pinned.manifest_ref() == kDigest);
    CHECK(pinned.to_string() == "ghcr.io/org/app@" + kDigest);
    const Reference both = Reference::parse("ghcr.io/org/app:1@" + kDigest);
    CHECK(both.tag == "1");
    CHECK(both.manifest_ref() == kDigest);
  }

  TEST_CASE("localhost, loopback and IPv6 literals") {
    const Reference l = Reference::parse("localhost/app");
    CHECK(l.domain == "localhost");
    CHECK(l.is_loopback());
    const Reference lp = Reference::parse("localhost:5000/app:x");
    CHECK(lp.domain == "localhost:5000");
    CHECK(Reference::parse("127.0.0.1:15000/busybox:latest").is_loopback());
    const Reference v6 = Reference::parse("[::1]:5000/app:t");
    CHECK(v6.domain == "[::1]:5000");
    CHECK(v6.host_name() == "::1");
    CHECK(v6.is_loopback());
    CHECK(v6.repository == "app");
    CHECK(Reference::parse("[fe80::1]/a").host_name() == "fe80::1");
  }

  TEST_CASE("bad references say what is wrong") {
    CHECK(error_of("").find("empty") != std::string::npos);
    CHECK(error_of("Busybox").find("component 'Busybox'") != std::string::npos);
    CHECK(error_of("busybox:").find("tag ''") != std::string::npos);
    CHECK(error_of("busybox:-x").find("tag '-x'") != std::string::npos);
    CHECK(error_of("busybox@sha256:abc").find("digest 'sha256:abc'") != std::string::npos);
    CHECK(error_of("busybox@md5:abc").find("must be sha256") != std::string::npos);
    CHECK(error_of("host:99999/app").find("port '99999'") != std::string::npos);
    CHECK(error_of("host:/app").find("empty port") != std::string::npos);
    CHECK(error_of("[::1/app").find("no closing ']'") != std::string::npos);
    CHECK(error_of("a//b").find("component ''") != std::string::npos);
    CHECK(error_of("a/b..c").find("component 'b..c'") != std::string::npos);
    CHECK(error_of("example.com/").find("no repository") != std::string::npos);
    CHECK(error_of("a/" + std::string(300, 'b')).find("longer than") != std::string::npos);
  }

  TEST_CASE("separators inside components follow Docker's grammar") {
    CHECK_NOTHROW(Reference::parse("a__b/c--d/e.f/g_h"));
    CHECK_THROWS(Reference::parse("a___b"));
    CHECK_THROWS(Reference::parse("-ab"));
    CHECK_THROWS(Reference::parse("ab-"));
  }
}
