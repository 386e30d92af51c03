// JobStore: the durable queue of builds (docs/ARCHITECTURE.md, "Seams").
//
// Work is claimed through the store, never through an in-process queue that would vanish with
// the process: a worker claims a queued build with a lease (worker id + expiry), renews it with
// heartbeat() while working and ends it with finish(). A build whose lease expired is claimable
// again, so a crashed worker's build is picked up by another (or by the restarted daemon).
//
// Every mutating call is committed durably before it returns: when enqueue() returns, the build
// survives a crash. Times are milliseconds since the Unix epoch from an injected clock.
// Implementations are safe to call from several threads.
// The conformance suite (tests/unit/test_server_job_store.cpp) states what every backend must
// do; a new backend joins it in tests/unit/store_backends.hpp.
#pragma once

#include "pipeline/step_timing.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oci2eif::server {

enum class BuildState { Queued, Running, Succeeded, Failed, Cancelled };

// "queued", "running", "succeeded", "failed", "cancelled".
std::string_view build_state_name(BuildState state);
std::optional<BuildState> parse_build_state(std::string_view name);
bool is_terminal(BuildState state);

using Clock = std::function<std::int64_t()>; // ms since the Unix epoch
Clock system_clock();

struct ArtifactInfo {
  std::string name;
  std::uint64_t size = 0;
  std::string sha256; // "sha256:<hex>"
};

// What a finished build produced (or why it did not).
struct BuildOutcome {
  BuildState state = BuildState::Succeeded; // Succeeded, Failed or Cancelled
  std::string error_code;                   // error_code_name() of the failure, "" on success
  std::string error_message;
  std::string input_key;                   // digest over the resolved inputs, "" if not resolved
  std::string image_digest;                // resolved manifest (or config) digest
  std::map<std::string, std::string> pcrs; // "PCR0" → hex
  std::vector<ArtifactInfo> artifacts;
  std::vector<pipeline::StepTiming> steps;
};

struct NewBuild {
  std::string request_json; // the validated request, as the API stores and replays it
  std::string image;        // the request's image string (for listing filters)
  std::map<std::string, std::string> labels;
  std::optional<std::string> idempotency_key;
  // The key over the resolved inputs, when the API could resolve them before queueing (see
  // build_inputs.hpp); "" when not known yet (the worker resolves them).
  std::string input_key;
  // The digest a registry tag resolved to when the request was accepted: the worker builds that
  // content even if the tag moves meanwhile (so the input key stays true). "" = resolve then.
  std::string pinned_digest;
};

struct BuildRecord {
  std::string id;
  BuildState state = BuildState::Queued;
  std::string request_json;
  std::string image;
  std::map<std::string, std::string> labels;
  std::optional<std::string> idempotency_key;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> started_ms; // last claim
  std::optional<std::int64_t> finished_ms;
  int attempts = 0;                  // times claimed
  std::string worker_id;             // holder of the lease while running
  std::int64_t lease_expires_ms = 0; // meaningful while running
  bool cancel_requested = false;
  std::string pinned_digest; // NewBuild::pinned_digest
  BuildOutcome outcome;      // meaningful once terminal
};

struct BuildFilter {
  std::optional<BuildState> state;
  std::optional<std::string> image;
  std::optional<std::pair<std::string, std::string>> label; // key, value
  std::size_t limit = 50;
  std::string cursor; // from a previous page's next_cursor; "" for the first page
};

struct BuildPage {
  std::vector<BuildRecord> builds; // newest first
  std::string next_cursor;         // "" when there are no more
};

struct IdempotentAnswer {
  std::string build_id;
  // The request_json of the request that first carried the key; "" for a key stored before the
  // stores kept it (SQLite schema 2, PostgreSQL migration 2): unknown, so any request matches.
  std::string request_json;
};

struct EnqueueResult {
  std::string id;
  bool created = true; // false: the idempotency key named an existing build, returned instead
};

struct HeartbeatResult {
  bool lease_held = false;       // false: the lease was lost (expired and re-claimed, or ended)
  bool cancel_requested = false; // the build should stop and finish as Cancelled
};

// The queue as an autoscaler or an alert sees it.
struct QueueStats {
  std::size_t depth = 0;                        // queued builds
  std::optional<std::int64_t> oldest_queued_ms; // created_ms of the oldest queued build
};

enum class CancelResult { NotFound, Cancelled, Requested, AlreadyFinished };
enum class RemoveResult { NotFound, Removed, NotFinished };

class JobStore {
public:
  virtual ~JobStore() = default;

  // Adds a queued build, unless reuse() finds one that answers it: then returns that build
  // (created = false) and adds nothing. Atomic: two equal requests make one build.
  virtual EnqueueResult enqueue(const NewBuild& build) = 0;

  // The build that already answers `build`: the one its idempotency key was answered with, else
  // the newest reusable one with its input key (find_reusable_by_input_key), which from then on
  // also answers the idempotency key. Nothing if there is none.
  virtual std::optional<std::string> reuse(const NewBuild& build) = 0;

  // Takes the oldest claimable build (queued, or running with an expired lease) for `worker`
  // until now + lease. Returns nothing when there is no work.
  virtual std::optional<BuildRecord> claim(const std::string& worker,
                                           std::chrono::milliseconds lease) = 0;

  // Extends `worker`'s lease on build `id` to now + lease, if it still holds it.
  //
  // heartbeat(), finish() and release() are fenced: a store remembers the attempt number (the
  // fencing token) of each lease its claim() handed out, and acts only if the build is still in
  // that attempt, so a worker whose lease was taken over fails even where worker ids repeat (a
  // replica restarted under the same name). For a lease claimed through another store object the
  // worker id alone decides.
  virtual HeartbeatResult heartbeat(const std::string& id, const std::string& worker,
                                    std::chrono::milliseconds lease) = 0;

  // Ends a running build held by `worker`. Returns false (and changes nothing) if the worker no
  // longer holds the lease: someone else owns the build now.
  virtual bool finish(const std::string& id, const std::string& worker,
                      const BuildOutcome& outcome) = 0;

  // Gives a running build held by `worker` back to the queue at once (no lease to wait out):
  // the worker stopped it on purpose (shutdown). Returns false if the worker no longer held it.
  virtual bool release(const std::string& id, const std::string& worker) = 0;

  // Deletes a finished build's row (and its labels). A queued or running build is not removed
  // (NotFinished): cancel it first.
  virtual RemoveResult remove(const std::string& id) = 0;

  // A queued build is cancelled at once; a running one is flagged (its worker sees it in the
  // next heartbeat and stops).
  virtual CancelResult cancel(const std::string& id) = 0;

  virtual std::optional<BuildRecord> get(const std::string& id) = 0;
  virtual BuildPage list(const BuildFilter& filter) = 0;

  // Running builds whose lease expired go back to the queue; returns how many.
  virtual int requeue_expired() = 0;
  // Every running build goes back to the queue. Only for a process that knows it is the
  // store's sole user (it holds the data directory's lock), at startup: whatever was running
  // belonged to a process that died.
  virtual int requeue_all_running() = 0;

  // The build an idempotency key was answered with, and the request it first came with, so a
  // reuse of the key with another request can be refused.
  virtual std::optional<IdempotentAnswer> find_by_idempotency_key(const std::string& key) = 0;
  // The newest queued, running or succeeded build with this input key and no cancel pending:
  // equal inputs give equal outputs, so it answers a request for the same build.
  virtual std::optional<std::string> find_reusable_by_input_key(const std::string& key) = 0;
  virtual std::size_t count_queued() = 0;
  // How many builds are in each state (states with none are absent).
  virtual std::map<BuildState, std::size_t> count_by_state() = 0;
  virtual QueueStats queue_stats() = 0;

  // nullopt when the store answers a trivial query; else why not, for /readyz. Never throws.
  virtual std::optional<std::string> check_health() = 0;

  // Calls `on_work` (from a thread of the store's) whenever another process may have added
  // claimable work: an enqueue, a release or a requeue anywhere. Called at most once per store;
  // it stops when the store is destroyed. A store that only one process uses may do nothing:
  // that process notifies its own workers.
  virtual void watch(std::function<void()> on_work) = 0;
};

// The embedded default: one SQLite file in WAL mode. Several stores (threads or processes) may
// open the same file.
std::unique_ptr<JobStore> open_sqlite_job_store(const std::string& path, Clock clock);
// The scale-out store over PostgreSQL: postgres_job_store.hpp.

} // namespace oci2eif::server
