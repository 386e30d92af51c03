#include "init/user.h"
#include "tests/unit/test_support.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <fstream>
#include <string>
#include <vector>

namespace {

const char* const kPasswd = "root:x:0:0:root:/root:/bin/sh\n"
                            "# not an entry\n"
                            "broken:x:notanumber:1\n"
                            "app:x:1000:1000:app:/app:/bin/sh\n"
                            "app:x:1001:1001:duplicate, ignored:/:/bin/sh\n"
                            "svc:x:500:600::/:/bin/false"; // no final LF
const char* const kGroup = "root:x:0:\n"
                           "app:x:1000:app\n" // the primary group naming its user: listed once
                           "extra:x:2000:someone,app\n"
                           "other:x:3000:someone,application\n"
                           "last:x:4000:app\n"
                           "svcgroup:x:600:\n";

struct Resolved {
  bool ok;
  unsigned uid = 0, gid = 0;
  std::vector<unsigned> groups;
  std::string home;
  std::string error;
};

// Resolves SPEC against the given file contents; nullptr means the file does not exist.
Resolved resolve(const char* spec, const char* passwd = kPasswd, const char* group = kGroup) {
  oci2eif::test::TempDir dir;
  if (passwd) {
    std::ofstream(dir / "passwd") << passwd;
  }
  if (group) {
    std::ofstream(dir / "group") << group;
  }
  credentials c{};
  char err[512] = "";
  Resolved r;
  r.ok = resolve_user(spec, (dir / "passwd").c_str(), (dir / "group").c_str(), &c, err,
                      sizeof err) == 0;
  if (r.ok) {
    r.uid = c.uid;
    r.gid = c.gid;
    r.groups.assign(c.groups, c.groups + c.group_count);
    r.home = c.home;
    std::free(c.groups);
    std::free(c.home);
  } else {
    r.error = err;
  }
  return r;
}

} // namespace

TEST_SUITE("init::resolve_user") {
  TEST_CASE("a name takes uid, gid and home from passwd, groups: the gid, then memberships") {
    const auto r = resolve("app");
    REQUIRE(r.ok);
    CHECK(r.uid == 1000);
    CHECK(r.gid == 1000);
    // moby's getUser: AdditionalGids = [GID] + Sgids; podman: AddProcessAdditionalGid(GID) first.
    CHECK(r.groups == std::vector<unsigned>{1000, 2000, 4000});
    CHECK(r.home == "/app");
  }

  TEST_CASE("a numeric uid with a passwd entry behaves like its name") {
    const auto r = resolve("1000");
    REQUIRE(r.ok);
    CHECK(r.gid == 1000);
    CHECK(r.groups == std::vector<unsigned>{1000, 2000, 4000});
    CHECK(r.home == "/app");
  }

  TEST_CASE("a numeric uid without an entry gets gid 0, groups [0] and home /") {
    const auto r = resolve("4242");
    REQUIRE(r.ok);
    CHECK(r.uid == 4242);
    CHECK(r.gid == 0);
    CHECK(r.groups == std::vector<unsigned>{0});
    CHECK(r.home == "/"); // runc's defaultHome, crun's fallback
  }

  TEST_CASE("root (what no USER resolves as) gets root's home and memberships") {
    const char* group = "root:x:0:\nbin:x:1:root,bin\nwheel:x:10:root\nusers:x:100:app\n";
    const auto r = resolve("0", kPasswd, group);
    REQUIRE(r.ok);
    CHECK(r.groups == std::vector<unsigned>{0, 1, 10}); // as `docker run alpine id` shows
    CHECK(r.home == "/root");
  }

  TEST_CASE("an entry with an empty or missing home field gives home /") {
    CHECK(resolve("svc", "svc:x:500:600::").home == "/");
    CHECK(resolve("svc", "svc:x:500:600").home == "/");
  }

  TEST_CASE("an explicit group sets the gid, the only supplementary group") {
    SUBCASE("name:group") {
      const auto r = resolve("app:extra");
      REQUIRE(r.ok);
      CHECK(r.uid == 1000);
      CHECK(r.gid == 2000);
      CHECK(r.groups == std::vector<unsigned>{2000});
    }
    SUBCASE("name:gid with no group entry") {
      const auto r = resolve("app:77");
      REQUIRE(r.ok);
      CHECK(r.gid == 77);
      CHECK(r.groups == std::vector<unsigned>{77});
    }
    SUBCASE("uid:gid with no entries at all") {
      const auto r = resolve("12:34", nullptr, nullptr);
      REQUIRE(r.ok);
      CHECK(r.uid == 12);
      CHECK(r.gid == 34);
    }
    SUBCASE("uid:group") {
      const auto r = resolve("0:svcgroup");
      REQUIRE(r.ok);
      CHECK(r.uid == 0);
      CHECK(r.gid == 600);
    }
  }

  TEST_CASE("the first passwd entry wins and a last line without LF counts") {
    const auto r = resolve("svc");
    REQUIRE(r.ok);
    CHECK(r.uid == 500);
    CHECK(r.gid == 600);
  }

  TEST_CASE("a user name that does not resolve is an error naming it") {
    const auto r = resolve("ghost");
    CHECK_FALSE(r.ok);
    CHECK(r.error.rfind("USER 'ghost': no user named 'ghost' in /", 0) == 0);
    const auto missing = resolve("app", nullptr);
    CHECK(missing.error.find("(the file does not exist)") != std::string::npos);
    // Malformed lines are not entries.
    CHECK_FALSE(resolve("broken").ok);
  }

  TEST_CASE("a group name that does not resolve is an error naming it") {
    const auto r = resolve("app:nogroup");
    CHECK_FALSE(r.ok);
    CHECK(r.error.rfind("USER 'app:nogroup': no group named 'nogroup' in /", 0) == 0);
  }

  TEST_CASE("malformed specifications are refused") {
    for (const char* spec : {":", "app:", ":1000"}) {
      CAPTURE(spec);
      const auto r = resolve(spec);
      CHECK_FALSE(r.ok);
      CHECK(r.error.find("is malformed") != std::string::npos);
    }
  }

  TEST_CASE("ids beyond 2^31-1 are not numbers, so they must be names") {
    CHECK(resolve("2147483647").ok);
    const auto r = resolve("2147483648");
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("no user named '2147483648'") != std::string::npos);
  }
}
