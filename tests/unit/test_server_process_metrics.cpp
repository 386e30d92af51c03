#include "server/process_metrics.hpp"

#include <doctest/doctest.h>

using namespace oci2eif::server;

TEST_SUITE("server::process_metrics") {
  TEST_CASE("process metrics: stat fields start after the last parenthesis of the name") {
    // A command name may hold spaces and parentheses (prctl PR_SET_NAME): "a) (b".
    const auto f = proc_stat_fields("4242 (a) (b) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
                                    "250 130 0 0 20 0 7 0 1234 56789 321");
    REQUIRE(f.size() == 22);
    CHECK(f[0] == "S");
    CHECK(f[14 - 3] == "250");  // utime
    CHECK(f[15 - 3] == "130");  // stime
    CHECK(f[20 - 3] == "7");    // threads
    CHECK(f[22 - 3] == "1234"); // start time
    CHECK(f[24 - 3] == "321");  // rss
    CHECK(proc_stat_fields("no parenthesis").empty());
  }
}
