// WorkerPool over a real job store: graceful drain within and past the grace period, a
// cancel relayed to the running build at once, and notify() waking an idle worker.
#include "core/error.hpp"
#include "server/job_store.hpp"
#include "server/worker_pool.hpp"
#include "tests/unit/job_store_requests.hpp"
#include "tests/unit/store_backends.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <thread>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace oci2eif::test;
using namespace std::chrono_literals;

namespace {

// A build that only consults `stop` every `tick` (counting in `checks`) until it throws, and
// ends Cancelled with the message thrown.
BuildOutcome until_stopped(const std::function<void()>& stop, std::chrono::milliseconds tick,
                           std::atomic<int>* checks = nullptr) {
  BuildOutcome o;
  try {
    for (;; checks != nullptr ? ++*checks : 0) {
      stop();
      std::this_thread::sleep_for(tick);
    }
  } catch (const Error& e) {
    o.state = BuildState::Cancelled;
    o.error_code = "cancelled";
    o.error_message = e.what();
  }
  return o;
}

} // namespace

TEST_SUITE("server::WorkerPool") {
  TEST_CASE("drain: a build that ends within the grace period is finished") {
    SqliteJobStoreBackend backend;
    auto store = backend.open(system_clock());
    const auto id = store->enqueue(request("a")).id;
    std::atomic<bool> started{false};
    WorkerPool pool(*store,
                    [&](const BuildRecord&, const Interrupt&) {
                      started = true;
                      std::this_thread::sleep_for(200ms);
                      return success();
                    },
                    {});
    pool.start();
    while (!started) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(pool.drain(5s) == 0);
    CHECK(store->get(id)->state == BuildState::Succeeded);
  }

  TEST_CASE("drain: after the grace period a build is stopped and re-queued") {
    SqliteJobStoreBackend backend;
    auto store = backend.open(system_clock());
    const auto id = store->enqueue(request("a")).id;
    const auto second = store->enqueue(request("b")).id;
    std::atomic<bool> started{false};
    WorkerPool pool(*store,
                    [&](const BuildRecord&, const Interrupt& stop) {
                      started = true;
                      return until_stopped(stop, 10ms);
                    },
                    {});
    pool.start();
    while (!started) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(pool.drain(100ms) == 1);
    const auto b = store->get(id);
    CHECK(b->state == BuildState::Queued);
    CHECK(b->worker_id.empty());
    CHECK(store->get(second)->state == BuildState::Queued); // never claimed while draining
  }

  TEST_CASE("cancel stops a running build at once, not at the next heartbeat") {
    SqliteJobStoreBackend backend;
    auto store = backend.open(system_clock());
    const auto id = store->enqueue(request("a")).id;
    std::atomic<bool> started{false};
    std::atomic<int> checks{0};
    WorkerPoolOptions options;
    options.lease = 3600s; // no heartbeat (every lease/3) during the test
    WorkerPool pool(
        *store,
        [&](const BuildRecord&, const Interrupt& stop) {
          started = true;
          return until_stopped(stop, 1ms, &checks);
        },
        options);
    CHECK_FALSE(pool.cancel(id)); // not running yet
    pool.start();
    while (!started) {
      std::this_thread::sleep_for(5ms);
    }
    CHECK(store->cancel(id) == CancelResult::Requested);
    CHECK(pool.cancel(id));
    // Bounded wait: without the direct relay, the build would run until the heartbeat in 20 min.
    std::optional<BuildRecord> b;
    for (int i = 0; i < 3000 && !(b && is_terminal(b->state)); ++i) {
      std::this_thread::sleep_for(10ms);
      b = store->get(id);
    }
    REQUIRE(b);
    CHECK(b->state == BuildState::Cancelled);
    CHECK(b->outcome.error_message == "cancelled on request");
    CHECK(checks > 0);
  }

  TEST_CASE("notify() wakes an idle worker at once, not at its next poll") {
    SqliteJobStoreBackend backend;
    auto store = backend.open(system_clock());
    WorkerPoolOptions options;
    options.idle_poll = 3600s; // without the wake, the build below would wait an hour
    WorkerPool pool(
        *store, [](const BuildRecord&, const Interrupt&) { return success(); }, options);
    pool.start();
    std::this_thread::sleep_for(50ms); // the worker found nothing and is (or is about to be) idle
    const auto id = store->enqueue(request("woken")).id;
    pool.notify();
    std::optional<BuildRecord> b;
    for (int i = 0; i < 3000 && !(b && is_terminal(b->state)); ++i) { // bounded: 30 s
      std::this_thread::sleep_for(10ms);
      b = store->get(id);
    }
    REQUIRE(b);
    CHECK(b->state == BuildState::Succeeded);
  }
}
