// The WebhookDedupe conformance suite (webhook_dedupe.hpp's contracts), run through each backend
// of OCI2EIF_WEBHOOK_DEDUPE_BACKENDS (store_backends.hpp).
#include "server/webhook_dedupe.hpp"
#include "tests/unit/store_backends.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <thread>
#include <vector>

using namespace oci2eif;

TEST_SUITE("server::WebhookDedupe") {
  TEST_CASE_TEMPLATE("one claim per key and window, and release gives the key back", Backend,
                     OCI2EIF_WEBHOOK_DEDUPE_BACKENDS) {
    Backend backend;
    auto now = std::make_shared<std::int64_t>(1'000'000);
    const server::Clock clock = [now] { return *now; };
    auto d = backend.open(clock, std::chrono::seconds(60));
    CHECK(d->claim("k"));
    CHECK_FALSE(d->claim("k"));
    CHECK(d->claim("other"));
    d->release("other");
    CHECK(d->claim("other"));
    *now += 59'000;
    CHECK_FALSE(d->claim("k"));
    *now += 2'000; // 61 s after the claim: the window has passed
    CHECK(d->claim("k"));
    CHECK_FALSE(d->claim("k")); // and the new claim holds for a window again
  }

  TEST_CASE_TEMPLATE("claims are shared by every dedupe over one database, and kept", Backend,
                     OCI2EIF_WEBHOOK_DEDUPE_BACKENDS) {
    Backend backend;
    auto now = std::make_shared<std::int64_t>(1'000'000);
    const server::Clock clock = [now] { return *now; };
    {
      auto first = backend.open(clock, std::chrono::seconds(60));
      CHECK(first->claim("k"));
    }
    auto a = backend.open(clock, std::chrono::seconds(60));
    auto b = backend.open(clock, std::chrono::seconds(60));
    CHECK_FALSE(a->claim("k")); // claimed before `a` was opened
    CHECK(b->claim("fresh"));
    CHECK_FALSE(a->claim("fresh"));
    b->release("fresh");
    CHECK(a->claim("fresh"));
  }

  TEST_CASE_TEMPLATE("two dedupes over one database racing for one key: one wins", Backend,
                     OCI2EIF_WEBHOOK_DEDUPE_BACKENDS) {
    Backend backend;
    auto a = backend.open(server::system_clock(), std::chrono::seconds(600));
    auto b = backend.open(server::system_clock(), std::chrono::seconds(600));
    for (int round = 0; round < 10; ++round) {
      const std::string key = "delivery-" + std::to_string(round);
      std::atomic<int> winners{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          if ((t % 2 == 0 ? *a : *b).claim(key)) {
            ++winners;
          }
        });
      }
      for (auto& t : threads) {
        t.join();
      }
      CHECK_MESSAGE(winners == 1, key);
    }
  }
}
