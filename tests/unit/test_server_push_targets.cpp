// push_targets: the operator's list of registry repositories builds may push EIFs to. The
// service pushes with its own credentials, so anything not listed must be refused.
#include "server/push_targets.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;

TEST_SUITE("server::push_targets") {
  TEST_CASE("a pattern is HOST[:PORT]/REPOSITORY, globs allowed - no scheme, tag or digest") {
    for (const char* ok : {"registry.example:5000/team/*", "r.example/app", "*/*", "r.example/*"}) {
      CHECK_NOTHROW(check_push_target_pattern("push_targets[0]", ok));
    }
    for (const char* bad : {"", "r.example", "/app", "r.example/", "r.example/app:eif",
                            "r.example/app@sha256:aa", "https://r.example/app", "r.example/a b"}) {
      CAPTURE(bad);
      CHECK(test::error_of([&] { check_push_target_pattern("push_targets[0]", bad); })
                .rfind("push_targets[0]: '" + std::string(bad) + "' is not HOST[:PORT]/REPOSITORY",
                       0) == 0);
    }
  }

  TEST_CASE("a push is allowed only to a repository a pattern matches") {
    const std::vector<std::string> targets{"registry.example:5000/team/*", "r.example/app"};
    CHECK_NOTHROW(check_push_allowed(targets, "registry.example:5000/team/app:1-eif"));
    CHECK_NOTHROW(check_push_allowed(targets, "registry.example:5000/team/a/b:eif")); // * spans /
    CHECK_NOTHROW(check_push_allowed(targets, "r.example/app"));                      // tag latest
    CHECK(test::error_of([&] { check_push_allowed(targets, "r.example/other:eif"); }) ==
          "field 'push': r.example/other is not among this service's push_targets");
    // Another port is another registry.
    CHECK(test::error_of([&] { check_push_allowed(targets, "registry.example/team/app:1"); }) ==
          "field 'push': registry.example/team/app is not among this service's push_targets");
    CHECK(test::error_of([&] { check_push_allowed({}, "r.example/app:eif"); }) ==
          "field 'push': r.example/app is not allowed: this service pushes nowhere (configure "
          "push_targets)");
  }
}
