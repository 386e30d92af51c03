#include "api/http_api.hpp"
#include "tests/unit/api_harness.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <future>

using namespace oci2eif;

TEST_SUITE("api::http_api") {
  TEST_CASE("http api: a stop() before run() begins makes run() return instead of serving") {
    // The shape of a SIGTERM during start-up, or a harness torn down at once: httplib's own
    // stop() is a no-op until it listens, which left run() serving forever.
    test::ApiHarness api(test::ApiHarness::Serving::No);
    api.http().stop();
    auto running = std::async(std::launch::async, [&api] { api.http().run(); });
    const bool returned = running.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    if (!returned) {
      api.http().stop(); // it serves now, so this one takes; lets the case end
    }
    CHECK(returned);
  }
}
