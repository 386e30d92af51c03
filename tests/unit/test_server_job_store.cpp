// The JobStore conformance suite: what every backend must do (job_store.hpp's contracts),
// run through each backend of OCI2EIF_JOB_STORE_BACKENDS (store_backends.hpp). What only the
// SQLite file does is in test_server_sqlite_job_store.cpp.
#include "core/error.hpp"
#include "server/job_store.hpp"
#include "tests/unit/job_store_requests.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <set>
#include <thread>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace oci2eif::test;
using namespace std::chrono_literals;

namespace {

// A backend with a clock the test moves by hand; open() may be called again for a second store
// over the same storage (a second daemon, or the same one after a restart).
template <class Backend> struct Fixture {
  Backend backend;
  std::shared_ptr<std::int64_t> now = std::make_shared<std::int64_t>(1'000'000);
  Clock clock() {
    auto n = now;
    return [n] { return *n; };
  }
  std::unique_ptr<JobStore> open() { return backend.open(clock()); }
};

} // namespace

TEST_SUITE("server::JobStore") {
  TEST_CASE_TEMPLATE("an enqueued build is queued, and survives closing and reopening the store",
                     Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("claim takes the oldest queued build with a lease, and nothing when idle",
                     Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("heartbeat extends the lease of its holder only", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
    auto store = f.open();
    const auto id = store->enqueue(request("a")).id;
    store->claim("w1", 30s);
    *f.now += 20'000;
    CHECK(store->heartbeat(id, "w1", 30s).lease_held);
    CHECK(store->get(id)->lease_expires_ms == 1'050'000);
    CHECK_FALSE(store->heartbeat(id, "w2", 30s).lease_held);
  }

  TEST_CASE_TEMPLATE("finish records the outcome, and a worker that lost the lease cannot finish",
                     Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("a failure keeps its error code and message", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("two stores on one backend: an expired lease is re-claimed by the other",
                     Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("a worker with a stale fencing token can neither finish nor heartbeat",
                     Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
    auto old_replica = f.open();
    auto new_replica = f.open();
    const auto id = old_replica->enqueue(request("a")).id;
    REQUIRE(old_replica->claim("pod-0/w1", 30s));
    *f.now += 30'000;
    // The replica restarted under the same name and took the expired build over.
    const auto again = new_replica->claim("pod-0/w1", 30s);
    REQUIRE(again);
    CHECK(again->attempts == 2);
    CHECK_FALSE(old_replica->heartbeat(id, "pod-0/w1", 30s).lease_held);
    CHECK_FALSE(old_replica->finish(id, "pod-0/w1", success()));
    CHECK_FALSE(old_replica->release(id, "pod-0/w1"));
    const auto b = new_replica->get(id);
    CHECK(b->state == BuildState::Running);
    CHECK(b->lease_expires_ms == 1'060'000);
    CHECK(new_replica->finish(id, "pod-0/w1", success()));
  }

  TEST_CASE_TEMPLATE("queue_stats counts queued builds and dates the oldest", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
    auto store = f.open();
    CHECK(store->queue_stats().depth == 0);
    CHECK_FALSE(store->queue_stats().oldest_queued_ms);
    store->enqueue(request("a"));
    *f.now += 5'000;
    store->enqueue(request("b"));
    store->enqueue(request("c"));
    REQUIRE(store->claim("w1", 30s)); // the oldest, "a"
    const QueueStats stats = store->queue_stats();
    CHECK(stats.depth == 2);
    CHECK(stats.oldest_queued_ms == 1'005'000);
  }

  TEST_CASE_TEMPLATE("check_health says a working store is usable", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
    auto store = f.open();
    CHECK(store->check_health() == std::nullopt);
  }

  TEST_CASE_TEMPLATE("two stores claiming concurrently never hand one build to both", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("requeue: expired leases, or every running build after a restart", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("cancel: queued at once, running by request seen in the heartbeat", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("release gives a running build back to the queue at once, for its holder only",
                     Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE(
      "remove deletes a finished build and its labels, never a queued or running one", Backend,
      OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE(
      "a build reused for an equal request is found by the labels of that request too", Backend,
      OCI2EIF_JOB_STORE_BACKENDS) {
    // A CI job for commit def whose image equals commit abc's gets abc's build back, and then
    // filters by commit=def: it must find it (and abc's filter still must).
    Fixture<Backend> f;
    auto store = f.open();
    NewBuild abc = request("a", {{"commit", "abc"}, {"team", "x"}});
    abc.input_key = "sha256:input";
    const std::string id = store->enqueue(abc).id;
    NewBuild def = request("a", {{"commit", "def"}});
    def.input_key = "sha256:input";
    CHECK(store->reuse(def) == id);
    CHECK(store->enqueue(def).id == id); // twice: no duplicate row, no error
    const auto ids_with = [&store](const std::string& key, const std::string& value) {
      BuildFilter filter;
      filter.label = {key, value};
      std::vector<std::string> ids;
      for (const auto& b : store->list(filter).builds) {
        ids.push_back(b.id);
      }
      return ids;
    };
    CHECK(ids_with("commit", "def") == std::vector<std::string>{id});
    CHECK(ids_with("commit", "abc") == std::vector<std::string>{id});
    CHECK(ids_with("team", "x") == std::vector<std::string>{id});
    CHECK(ids_with("commit", "zzz").empty());
    CHECK(store->get(id)->labels == abc.labels); // the build's own labels are the first request's
    REQUIRE(store->claim("w1", 60s));
    REQUIRE(store->finish(id, "w1", success()));
    CHECK(store->remove(id) == RemoveResult::Removed);
    CHECK(ids_with("commit", "def").empty());
  }

  TEST_CASE_TEMPLATE("an idempotency key names one build", Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
    auto store = f.open();
    const auto first = store->enqueue(request("a", {}, "key-1"));
    const auto again = store->enqueue(request("a", {}, "key-1"));
    CHECK(first.created);
    CHECK_FALSE(again.created);
    CHECK(again.id == first.id);
    CHECK(store->find_by_idempotency_key("key-1")->build_id == first.id);
    CHECK(store->find_by_idempotency_key("key-1")->request_json == request("a").request_json);
    CHECK_FALSE(store->find_by_idempotency_key("key-2"));
    CHECK(store->count_queued() == 1);
  }

  TEST_CASE_TEMPLATE("an idempotency key answered by an equal build keeps naming it", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
    auto store = f.open();
    NewBuild first = request("a");
    first.input_key = "sha256:k";
    const auto a = store->enqueue(first).id;
    NewBuild keyed = first;
    keyed.idempotency_key = "retry-1";
    keyed.request_json = R"({"image":"a","labels":{"retry":"1"}})";
    CHECK(store->reuse(keyed) == a);
    // The key names the build it was answered with and keeps the request it came with.
    CHECK(store->find_by_idempotency_key("retry-1")->build_id == a);
    CHECK(store->find_by_idempotency_key("retry-1")->request_json == keyed.request_json);
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

  TEST_CASE_TEMPLATE("a pinned digest is stored with the build and read back", Backend,
                     OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
    auto store = f.open();
    NewBuild pinned = request("reg.example/app:1");
    pinned.pinned_digest = "sha256:aaaa";
    const auto id = store->enqueue(pinned).id;
    CHECK(store->get(id)->pinned_digest == "sha256:aaaa");
    CHECK(store->get(store->enqueue(request("b")).id)->pinned_digest.empty());
    CHECK(store->claim("w", 30s)->pinned_digest == "sha256:aaaa");
  }

  TEST_CASE_TEMPLATE(
      "equal input keys: a queued, running or succeeded build is reused, a failed one not", Backend,
      OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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

  TEST_CASE_TEMPLATE("list filters by state, image and label, newest first, in cursor pages",
                     Backend, OCI2EIF_JOB_STORE_BACKENDS) {
    Fixture<Backend> f;
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
}
