// DependencyMonitor: one recent answer per dependency, the first failing one named, changes
// noticed by the background round or by check_now(), and a check that throws counted as down.
#include "server/dependency_monitor.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <thread>

using namespace oci2eif::server;
using namespace std::chrono_literals;

TEST_SUITE("server::DependencyMonitor") {
  TEST_CASE("all up: no problem - the first down dependency is named with its reason") {
    std::atomic<bool> db_up{true}, s3_up{true};
    DependencyMonitor monitor(
        {{"database",
          [&]() -> std::optional<std::string> {
            return db_up ? std::nullopt : std::optional<std::string>("connection refused");
          }},
         {"object store",
          [&]() -> std::optional<std::string> {
            return s3_up ? std::nullopt : std::optional<std::string>("403 SignatureDoesNotMatch");
          }}},
        1h); // no background round within the test: check_now() drives it
    CHECK_FALSE(monitor.problem());
    s3_up = false;
    CHECK_FALSE(monitor.problem()); // not yet checked
    monitor.check_now();
    CHECK(monitor.problem() == "object store: 403 SignatureDoesNotMatch");
    db_up = false;
    monitor.check_now();
    CHECK(monitor.problem() == "database: connection refused");
    CHECK(monitor.states() ==
          std::map<std::string, bool>{{"database", false}, {"object store", false}});
    db_up = s3_up = true;
    monitor.check_now();
    CHECK_FALSE(monitor.problem());
  }

  TEST_CASE("the first answer is known at construction, and the background round follows") {
    std::atomic<bool> up{false};
    DependencyMonitor monitor({{"database",
                                [&]() -> std::optional<std::string> {
                                  return up ? std::nullopt : std::optional<std::string>("down");
                                }}},
                              10ms);
    CHECK(monitor.problem() == "database: down");
    up = true;
    bool recovered = false;
    for (int i = 0; i < 500 && !recovered; ++i) { // bounded: 5 s
      std::this_thread::sleep_for(10ms);
      recovered = !monitor.problem();
    }
    CHECK(recovered);
  }

  TEST_CASE("a check that throws counts as down, with its message") {
    DependencyMonitor monitor(
        {{"database", []() -> std::optional<std::string> { throw std::runtime_error("boom"); }}},
        1h);
    CHECK(monitor.problem() == "database: boom");
  }
}
