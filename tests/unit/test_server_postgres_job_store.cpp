// What only the PostgreSQL backend does: replicas racing on one database, migrations at start,
// LISTEN/NOTIFY, reconnects and an unreachable server. What every backend does is in
// test_server_job_store.cpp. These cases need the test server (CTest's `postgres` fixture).
#include "core/error.hpp"
#include "server/postgres_database.hpp"
#include "server/postgres_job_store.hpp"
#include "tests/unit/job_store_requests.hpp"
#include "tests/unit/test_services.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <condition_variable>
#include <doctest/doctest.h>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace oci2eif::test;
using namespace std::chrono_literals;

namespace {

// Runs `f(i)` on `n` threads released at once, so their calls overlap.
void race(int n, const std::function<void(int)>& f) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < n) {
        std::this_thread::yield();
      }
      f(i);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
}

// Counts calls and lets a test wait for the count to pass a mark.
struct CallCounter {
  std::mutex mutex;
  std::condition_variable changed;
  int calls = 0;
  void operator()() {
    std::lock_guard lock(mutex);
    ++calls;
    changed.notify_all();
  }
  bool wait_beyond(int mark, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return calls > mark; });
  }
  int count() {
    std::lock_guard lock(mutex);
    return calls;
  }
};

} // namespace

TEST_SUITE("PostgresJobStore") {
  TEST_CASE("replicas racing to enqueue one idempotency key or one input key make one build") {
    PostgresTestSchema schema;
    auto a = open_postgres_job_store(open_postgres_database(schema.url()), system_clock());
    auto b = open_postgres_job_store(open_postgres_database(schema.url()), system_clock());
    for (const bool by_input_key : {false, true}) {
      CAPTURE(by_input_key);
      std::mutex mutex;
      std::set<std::string> ids;
      int created = 0;
      race(8, [&](int i) {
        NewBuild n = request(by_input_key ? "by-input" : "by-key");
        if (by_input_key) {
          n.input_key = "sha256:same-inputs";
        } else {
          n.idempotency_key = "same-key";
        }
        const EnqueueResult r = (i % 2 ? a : b)->enqueue(n);
        std::lock_guard lock(mutex);
        ids.insert(r.id);
        created += r.created ? 1 : 0;
      });
      CHECK(ids.size() == 1);
      CHECK(created == 1);
    }
    CHECK(a->count_queued() == 2);
  }

  TEST_CASE("replicas opening one database at the same moment migrate it once") {
    PostgresTestSchema schema;
    std::atomic<int> failures{0};
    race(4, [&](int) {
      try {
        open_postgres_database(schema.url());
      } catch (const std::exception& e) {
        MESSAGE(e.what());
        ++failures;
      }
    });
    CHECK(failures == 0);
    const PgResult r = open_postgres_database(schema.url())
                           ->exec("SELECT count(*), max(version) FROM schema_migrations");
    CHECK(r.integer(0, 0) == 4); // versions 1 to 4, each recorded once
    CHECK(r.integer(0, 1) == 4);
  }

  TEST_CASE("watch() hears another replica's enqueue and release") {
    PostgresTestSchema schema;
    auto listener = open_postgres_job_store(open_postgres_database(schema.url()), system_clock());
    auto other = open_postgres_job_store(open_postgres_database(schema.url()), system_clock());
    CallCounter heard;
    listener->watch([&] { heard(); });
    // The first call comes once it listens (work may have been added before).
    REQUIRE(heard.wait_beyond(0, 10s));
    int mark = heard.count();
    const std::string id = other->enqueue(request("a")).id;
    CHECK(heard.wait_beyond(mark, 10s));
    REQUIRE(other->claim("w1", 30s));
    mark = heard.count();
    REQUIRE(other->release(id, "w1"));
    CHECK(heard.wait_beyond(mark, 10s));
  }

  TEST_CASE("a connection the server dropped is reconnected on the next call") {
    PostgresTestSchema schema;
    // Our own application name, to drop only this case's connections.
    const std::string url = schema.url() + "&application_name=" + schema.name();
    auto db = open_postgres_database(url);
    auto store = open_postgres_job_store(db, system_clock());
    const std::string id = store->enqueue(request("a")).id;
    PostgresDatabase(schema.server_url(), 1)
        .exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
              {schema.name()});
    std::this_thread::sleep_for(200ms); // the terminations reach the sockets
    CHECK(store->get(id));
    CHECK(store->check_health() == std::nullopt);
  }

  TEST_CASE("an unreachable server is Unavailable, named by host, port and database only") {
    // Port 1 (tcpmux) is reserved and nothing listens on it here: the connect is refused.
    const std::string url = "postgresql://builder:s3cret-pw@127.0.0.1:1/builds";
    const auto code = code_of([&] { open_postgres_database(url); });
    CHECK(code == ErrorCode::Unavailable);
    const std::string message = error_of([&] { open_postgres_database(url); });
    CHECK(message.find("PostgreSQL at 127.0.0.1:1/builds: ") == 0);
    CHECK(message.find("s3cret") == std::string::npos);
    PostgresDatabase db(url);
    const auto health = db.check_health();
    REQUIRE(health);
    CHECK(health->find("127.0.0.1:1/builds") != std::string::npos);
    CHECK(health->find("s3cret") == std::string::npos);
  }
}
