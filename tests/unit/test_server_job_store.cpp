#include "core/error.hpp"
#include "server/job_store.hpp"
#include "server/worker_pool.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <set>
#include <sqlite3.h>
#include <thread>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  test::TempDir dir;
  std::shared_ptr<std::int64_t> now = std::make_shared<std::int64_t>(1'000'000);
  std::string path = (dir / "jobs.db").string();
  Clock clock() {
    auto n = now;
    return [n] { return *n; };
  }
  std::unique_ptr<JobStore> open() { return open_sqlite_job_store(path, clock()); }
};

NewBuild request(const std::string& image, std::map<std::string, std::string> labels = {},
                 std::optional<std::string> key = std::nullopt) {
  return {R"({"image":")" + image + R"("})", image, std::move(labels), std::move(key), {}, {}};
}

BuildOutcome success() {
  BuildOutcome o;
  o.input_key = "sha256:input";
  o.image_digest = "sha256:manifest";
  o.pcrs = {{"PCR0", "aa"}, {"PCR1", "bb"}};
  o.artifacts = {{"image.eif", 123, "sha256:eif"}};
  o.steps = {{"flatten", 1.5}};
  return o;
}

} // namespace

TEST_SUITE("server::SqliteJobStore") {
  TEST_CASE("an enqueued build is queued, and survives closing and reopening the file") {
    Fixture f;
    std::string id;
    {
      auto store = f.open();
      id = store->enqueue(request("oci-layout:/img", {{"team", "a"}})).id;
    }
    auto store = f.open();
    const auto b = store->get(id);
    REQUIRE(b);
    CHECK(b->state == BuildState::Queued);
    CHECK(b->image == "oci-layout:/img");
    CHECK(b->request_json == R"({"image":"oci-layout:/img"})");
    CHECK(b->labels == std::map<std::string, std::string>{{"team", "a"}});
    CHECK(b->created_ms == 1'000'000);
    CHECK(store->count_queued() == 1);
    CHECK_FALSE(store->get("b-nope"));
  }

  TEST_CASE("the file is in WAL mode") {
    Fixture f;
    auto store = f.open();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  TEST_CASE("claim takes the oldest queued build with a lease, and nothing when idle") {
    Fixture f;
    auto store = f.open();
    CHECK_FALSE(store->claim("w1", 30s));
    const auto first = store->enqueue(request("a")).id;
    store->enqueue(request("b"));
    const auto c = store->claim("w1", 30s);
    REQUIRE(c);
    CHECK(c->id == first);
    CHECK(c->state == BuildState::Running);
    CHECK(c->worker_id == "w1");
    CHECK(c->lease_expires_ms == 1'030'000);
    CHECK(c->attempts == 1);
    CHECK(store->count_queued() == 1);
  }

  TEST_CASE("heartbeat extends the lease of its holder only") {
    Fixture f;
    auto store = f.open();
    const auto id = store->enqueue(request("a")).id;
    store->claim("w1", 30s);
    *f.now += 20'000;
    CHECK(store->heartbeat(id, "w1", 30s).lease_held);
    CHECK(store->get(id)->lease_expires_ms == 1'050'000);
    CHECK_FALSE(store->heartbeat(id, "w2", 30s).lease_held);
  }

  TEST_CASE("finish records the outcome; a worker that lost the lease cannot finish") {
    Fixture f;
    auto store = f.open();
    const auto id = store->enqueue(request("a")).id;
    store->claim("w1", 30s);
    CHECK_FALSE(store->finish(id, "w2", success()));
    *f.now += 5'000;
    REQUIRE(store->finish(id, "w1", success()));
    const auto b = store->get(id);
    CHECK(b->state == BuildState::Succeeded);
    CHECK(b->finished_ms == 1'005'000);
    CHECK(b->outcome.pcrs.at("PCR1") == "bb");
    REQUIRE(b->outcome.artifacts.size() == 1);
    CHECK(b->outcome.artifacts[0].size == 123);
    CHECK(b->outcome.steps[0].seconds == 1.5);
    CHECK(b->outcome.image_digest == "sha256:manifest");
    CHECK_FALSE(store->finish(id, "w1", success())); // already finished
  }

  TEST_CASE("a failure keeps its error code and message") {
    Fixture f;
    auto store = f.open();
    const auto id = store->enqueue(request("a")).id;
    store->claim("w1", 30s);
    BuildOutcome o;
    o.state = BuildState::Failed;
    o.error_code = "digest_mismatch";
    o.error_message = "layer 2: digest mismatch";
    store->finish(id, "w1", o);
    const auto b = store->get(id);
    CHECK(b->state == BuildState::Failed);
    CHECK(b->outcome.error_code == "digest_mismatch");
    CHECK(b->outcome.error_message == "layer 2: digest mismatch");
  }

  TEST_CASE("two stores on one file: an expired lease is re-claimed by the other") {
    Fixture f;
    auto a = f.open();
    auto b = f.open();
    const auto id = a->enqueue(request("a")).id;
    REQUIRE(a->claim("crashed", 30s));
    CHECK_FALSE(b->claim("w2", 30s)); // lease still valid
    *f.now += 30'000;
    const auto c = b->claim("w2", 30s);
    REQUIRE(c);
    CHECK(c->id == id);
    CHECK(c->attempts == 2);
    CHECK_FALSE(a->heartbeat(id, "crashed", 30s).lease_held);
    CHECK_FALSE(a->finish(id, "crashed", success()));
    CHECK(b->finish(id, "w2", success()));
    CHECK(a->get(id)->state == BuildState::Succeeded);
  }

  TEST_CASE("two stores claiming concurrently never hand one build to both") {
    Fixture f;
    auto a = f.open();
    auto b = f.open();
    for (int i = 0; i < 20; ++i) {
      a->enqueue(request("i" + std::to_string(i)));
    }
    std::set<std::string> ids_a, ids_b;
    std::thread ta([&] {
      while (auto c = a->claim("a", 30s)) {
        ids_a.insert(c->id);
      }
    });
    std::thread tb([&] {
      while (auto c = b->claim("b", 30s)) {
        ids_b.insert(c->id);
      }
    });
    ta.join();
    tb.join();
    CHECK(ids_a.size() + ids_b.size() == 20);
    for (const auto& id : ids_a) {
      CHECK(ids_b.count(id) == 0);
    }
  }

  TEST_CASE("requeue: expired leases, or every running build after a restart") {
    Fixture f;
    auto store = f.open();
    const auto x = store->enqueue(request("x")).id;
    const auto y = store->enqueue(request("y")).id;
    store->claim("w", 10s);
    store->claim("w", 60s);
    *f.now += 10'000;
    CHECK(store->requeue_expired() == 1);
    CHECK(store->get(x)->state == BuildState::Queued);
    CHECK(store->get(y)->state == BuildState::Running);
    CHECK(store->requeue_all_running() == 1);
    CHECK(store->get(y)->state == BuildState::Queued);
    CHECK(store->count_queued() == 2);
    const auto by_state = store->count_by_state();
    CHECK(by_state.at(BuildState::Queued) == 2);
    CHECK(by_state.count(BuildState::Running) == 0);
  }

  TEST_CASE("cancel: queued at once, running by request seen in the heartbeat") {
    Fixture f;
    auto store = f.open();
    const auto run = store->enqueue(request("r")).id;
    const auto wait = store->enqueue(request("w")).id;
    store->claim("w1", 30s);
    CHECK(store->cancel(wait) == CancelResult::Cancelled);
    CHECK(store->get(wait)->state == BuildState::Cancelled);
    CHECK(store->get(wait)->outcome.error_code == "cancelled");
    CHECK(store->cancel(run) == CancelResult::Requested);
    CHECK(store->heartbeat(run, "w1", 30s).cancel_requested);
    BuildOutcome o;
    o.state = BuildState::Cancelled;
    store->finish(run, "w1", o);
    CHECK(store->cancel(run) == CancelResult::AlreadyFinished);
    CHECK(store->cancel("b-unknown") == CancelResult::NotFound);
    CHECK_FALSE(store->claim("w1", 30s));
  }

  TEST_CASE("release gives a running build back to the queue at once, for its holder only") {
    Fixture f;
    auto store = f.open();
    const auto id = store->enqueue(request("a")).id;
    REQUIRE(store->claim("w1", 60s));
    CHECK_FALSE(store->release(id, "w2"));
    CHECK(store->release(id, "w1"));
    CHECK(store->get(id)->state == BuildState::Queued);
    // Claimable now, without waiting out the 60 s lease.
    const auto again = store->claim("w2", 60s);
    REQUIRE(again);
    CHECK(again->id == id);
    CHECK(again->attempts == 2);
    CHECK_FALSE(store->release(id, "w1"));
  }

  TEST_CASE("remove deletes a finished build and its labels, never a queued or running one") {
    Fixture f;
    auto store = f.open();
    const auto id = store->enqueue(request("a", {{"k", "v"}})).id;
    CHECK(store->remove(id) == RemoveResult::NotFinished);
    REQUIRE(store->claim("w1", 60s));
    CHECK(store->remove(id) == RemoveResult::NotFinished);
    REQUIRE(store->finish(id, "w1", success()));
    CHECK(store->remove(id) == RemoveResult::Removed);
    CHECK_FALSE(store->get(id));
    CHECK(store->remove(id) == RemoveResult::NotFound);
    BuildFilter by_label;
    by_label.label = {"k", "v"};
    CHECK(store->list(by_label).builds.empty());
    CHECK_FALSE(store->find_reusable_by_input_key("sha256:input"));
  }

  TEST_CASE("worker pool drain: a build that ends within the grace period is finished") {
    Fixture f;
    auto store = open_sqlite_job_store(f.path, system_clock());
    const auto id = store->enqueue(request("a")).id;
    std::atomic<bool> started{false};
    WorkerPool pool(*store,
                    [&](const BuildRecord&, const std::function<void()>&) {
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

  TEST_CASE("worker pool drain: after the grace period a build is stopped and re-queued") {
    Fixture f;
    auto store = open_sqlite_job_store(f.path, system_clock());
    const auto id = store->enqueue(request("a")).id;
    const auto second = store->enqueue(request("b")).id;
    std::atomic<bool> started{false};
    WorkerPool pool(*store,
                    [&](const BuildRecord&, const std::function<void()>& stop) {
                      started = true;
                      BuildOutcome o;
                      try {
                        for (;;) {
                          stop();
                          std::this_thread::sleep_for(10ms);
                        }
                      } catch (const Error& e) {
                        o.state = BuildState::Cancelled;
                        o.error_code = "cancelled";
                        o.error_message = e.what();
                      }
                      return o;
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

  TEST_CASE("an idempotency key names one build") {
    Fixture f;
    auto store = f.open();
    const auto first = store->enqueue(request("a", {}, "key-1"));
    const auto again = store->enqueue(request("a", {}, "key-1"));
    CHECK(first.created);
    CHECK_FALSE(again.created);
    CHECK(again.id == first.id);
    CHECK(store->find_by_idempotency_key("key-1") == first.id);
    CHECK_FALSE(store->find_by_idempotency_key("key-2"));
    CHECK(store->count_queued() == 1);
  }

  TEST_CASE("an idempotency key answered by an equal build keeps naming it") {
    Fixture f;
    auto store = f.open();
    NewBuild first = request("a");
    first.input_key = "sha256:k";
    const auto a = store->enqueue(first).id;
    NewBuild keyed = first;
    keyed.idempotency_key = "retry-1";
    CHECK(store->reuse(keyed) == a);
    CHECK(store->find_by_idempotency_key("retry-1") == a);
    // Even once the inputs no longer match (the build failed), the key still names that build.
    REQUIRE(store->claim("w", 30s));
    BuildOutcome failure;
    failure.state = BuildState::Failed;
    store->finish(a, "w", failure);
    keyed.input_key = "sha256:other";
    const auto again = store->enqueue(keyed);
    CHECK_FALSE(again.created);
    CHECK(again.id == a);
    // Removing the build frees the key.
    CHECK(store->remove(a) == RemoveResult::Removed);
    CHECK_FALSE(store->find_by_idempotency_key("retry-1"));
    CHECK(store->enqueue(keyed).created);
    CHECK_FALSE(store->reuse(request("nothing")));
  }

  TEST_CASE("a pinned digest is stored with the build and read back") {
    Fixture f;
    auto store = f.open();
    NewBuild pinned = request("reg.example/app:1");
    pinned.pinned_digest = "sha256:aaaa";
    const auto id = store->enqueue(pinned).id;
    CHECK(store->get(id)->pinned_digest == "sha256:aaaa");
    CHECK(store->get(store->enqueue(request("b")).id)->pinned_digest.empty());
    CHECK(store->claim("w", 30s)->pinned_digest == "sha256:aaaa");
  }

  TEST_CASE("a version 1 database (before pinned digests) is migrated on open, rows kept") {
    Fixture f;
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    // The version 1 schema as oci2eif wrote it, with one queued build.
    const char* v1 = R"sql(
      CREATE TABLE schema_version(version INTEGER NOT NULL);
      INSERT INTO schema_version(version) VALUES(1);
      CREATE TABLE builds(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL, request TEXT NOT NULL, image TEXT NOT NULL,
        idempotency_key TEXT UNIQUE, input_key TEXT, created_ms INTEGER NOT NULL,
        started_ms INTEGER, finished_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        worker_id TEXT, lease_expires_ms INTEGER, cancel_requested INTEGER NOT NULL DEFAULT 0,
        error_code TEXT, error_message TEXT, result TEXT);
      CREATE TABLE build_labels(build_id TEXT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
        key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(build_id, key));
      INSERT INTO builds(id, state, request, image, created_ms)
        VALUES('b-old', 'queued', '{"image":"a"}', 'a', 5);)sql";
    REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);

    auto store = f.open();
    const auto old = store->get("b-old");
    REQUIRE(old);
    CHECK(old->state == BuildState::Queued);
    CHECK(old->pinned_digest.empty());
    NewBuild pinned = request("c");
    pinned.pinned_digest = "sha256:bbbb";
    CHECK(store->get(store->enqueue(pinned).id)->pinned_digest == "sha256:bbbb");
    store.reset();
    CHECK(f.open()->get("b-old")); // and opens again as version 2
  }

  TEST_CASE("equal input keys: a queued, running or succeeded build is reused, a failed one not") {
    Fixture f;
    auto store = f.open();
    NewBuild keyed = request("a");
    keyed.input_key = "sha256:input";
    const auto first = store->enqueue(keyed);
    CHECK(first.created);
    CHECK(store->find_reusable_by_input_key("sha256:input") == first.id); // queued
    const auto again = store->enqueue(keyed);
    CHECK_FALSE(again.created);
    CHECK(again.id == first.id);
    REQUIRE(store->claim("w", 30s));
    CHECK(store->enqueue(keyed).id == first.id); // running
    store->finish(first.id, "w", success());
    CHECK(store->enqueue(keyed).id == first.id); // succeeded
    CHECK_FALSE(store->find_reusable_by_input_key("sha256:other"));
    CHECK(store->count_queued() == 0);

    // A key the API did not know (resolution failed) never matches anything.
    CHECK(store->enqueue(request("a")).created);

    NewBuild other = request("b");
    other.input_key = "sha256:b";
    const auto failed = store->enqueue(other).id;
    REQUIRE(store->claim("w", 30s));
    REQUIRE(store->claim("w", 30s)); // the keyless one and "b"
    BuildOutcome failure;
    failure.state = BuildState::Failed;
    failure.input_key = "sha256:b";
    store->finish(failed, "w", failure);
    const auto retry = store->enqueue(other);
    CHECK(retry.created);
    CHECK(retry.id != failed);

    // A build whose cancel is pending is about to end cancelled: not handed out again.
    NewBuild doomed = request("c");
    doomed.input_key = "sha256:c";
    const auto c = store->enqueue(doomed).id;
    REQUIRE(store->claim("w", 30s)); // the retry of "b"
    REQUIRE(store->claim("w", 30s)->id == c);
    CHECK(store->cancel(c) == CancelResult::Requested);
    CHECK_FALSE(store->find_reusable_by_input_key("sha256:c"));
    const auto after_cancel = store->enqueue(doomed);
    CHECK(after_cancel.created);
    CHECK(after_cancel.id != c);
  }

  TEST_CASE("list filters by state, image and label, newest first, in cursor pages") {
    Fixture f;
    auto store = f.open();
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
      ids.push_back(store->enqueue(request(i % 2 ? "odd" : "even", {{"n", std::to_string(i)}})).id);
    }
    store->claim("w", 30s); // ids[0] running

    BuildFilter all;
    all.limit = 2;
    auto p1 = store->list(all);
    REQUIRE(p1.builds.size() == 2);
    CHECK(p1.builds[0].id == ids[4]);
    CHECK(p1.builds[1].id == ids[3]);
    REQUIRE_FALSE(p1.next_cursor.empty());
    all.cursor = p1.next_cursor;
    auto p2 = store->list(all);
    CHECK(p2.builds[0].id == ids[2]);
    all.cursor = p2.next_cursor;
    auto p3 = store->list(all);
    REQUIRE(p3.builds.size() == 1);
    CHECK(p3.builds[0].id == ids[0]);
    CHECK(p3.next_cursor.empty());

    BuildFilter running;
    running.state = BuildState::Running;
    CHECK(store->list(running).builds.size() == 1);
    BuildFilter odd;
    odd.image = "odd";
    CHECK(store->list(odd).builds.size() == 2);
    BuildFilter label;
    label.label = {{"n", "3"}};
    const auto l = store->list(label);
    REQUIRE(l.builds.size() == 1);
    CHECK(l.builds[0].id == ids[3]);

    BuildFilter bad;
    bad.cursor = "x1";
    CHECK(test::error_of([&] { store->list(bad); }).find("cursor 'x1'") != std::string::npos);
  }

  TEST_CASE("a database from another schema version is refused, naming both versions") {
    Fixture f;
    f.open();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE schema_version SET version = 9", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
    CHECK(test::error_of([&] {
            f.open();
          }).find("schema version 9; this oci2eif reads version 2") != std::string::npos);
  }

  TEST_CASE("worker pool cancel stops a running build at once, not at the next heartbeat") {
    Fixture f;
    auto store = open_sqlite_job_store(f.path, system_clock());
    const auto id = store->enqueue(request("a")).id;
    std::atomic<bool> started{false};
    std::atomic<int> checks{0};
    WorkerPoolOptions options;
    options.lease = 3600s; // no heartbeat (every lease/3) during the test
    WorkerPool pool(
        *store,
        [&](const BuildRecord&, const std::function<void()>& stop) {
          started = true;
          BuildOutcome o;
          try {
            for (;; ++checks) {
              stop();
              std::this_thread::sleep_for(1ms);
            }
          } catch (const Error& e) {
            o.state = BuildState::Cancelled;
            o.error_code = "cancelled";
            o.error_message = e.what();
          }
          return o;
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
}
