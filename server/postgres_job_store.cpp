// JobStore over PostgreSQL, shared by every replica (schema: postgres_schema.hpp).
//
// The queue follows the pattern load- and crash-tested for this service: claim is one
// autocommit UPDATE of the row a `FOR UPDATE SKIP LOCKED LIMIT 1` subquery picked (claimers
// never wait on each other nor take the same build) that sets the lease and increments
// `attempts`, the lease's fencing token; heartbeat, finish and release are single UPDATEs
// guarded by worker id and that token, so 0 rows means the lease was lost. Times come from the
// injected clock, not the server's now(), so all replicas' clocks must agree roughly (NTP), as
// lease expiry needs anyway.
//
// Idempotency across replicas rests on unique indexes, not on reading first: every idempotency
// key a request was answered with is a row of idempotency_keys (primary key), and at most one
// live build has a given input key (builds_live_input_key). An enqueue that loses a race hits
// the unique violation, and PostgresDatabase::transaction() runs it again: it then finds the
// winner's build.
#include "server/postgres_job_store.hpp"

#include "core/error.hpp"
#include "server/build_row_codec.hpp"
#include "server/lease_tokens.hpp"
#include "server/postgres_database.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace oci2eif::server {
namespace {

constexpr std::string_view kChannel = "oci2eif_work";

// Column 18 gathers the build's labels as one JSON object, so a row needs no second query.
constexpr std::string_view kColumns =
    "seq, id, state, request, image, idempotency_key, created_ms, started_ms, finished_ms, "
    "attempts, worker_id, lease_expires_ms, cancel_requested, error_code, error_message, "
    "result, input_key, pinned_digest, (SELECT json_object_agg(l.key, l.value) FROM build_labels "
    "l WHERE l.build_id = builds.id)";

// The fencing guard of heartbeat, finish and release: $N is the attempt the lease was claimed
// in, or NULL when this store did not claim it (the worker id alone decides then).
std::string fenced(int n) {
  const std::string p = "$" + std::to_string(n) + "::integer";
  return "(" + p + " IS NULL OR attempts = " + p + ")";
}

std::optional<std::string> text_or_null(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional(s);
}

BuildRecord read_row(const PgResult& q, int row) {
  BuildRecord r;
  r.id = q.text(row, 1);
  r.state = parse_build_state(q.text(row, 2)).value_or(BuildState::Failed);
  r.request_json = q.text(row, 3);
  r.image = q.text(row, 4);
  r.idempotency_key = q.opt_text(row, 5);
  r.created_ms = q.integer(row, 6);
  r.started_ms = q.opt_integer(row, 7);
  r.finished_ms = q.opt_integer(row, 8);
  r.attempts = static_cast<int>(q.integer(row, 9));
  r.worker_id = q.text(row, 10);
  r.lease_expires_ms = q.integer(row, 11);
  r.cancel_requested = q.boolean(row, 12);
  r.outcome.state = r.state;
  r.outcome.error_code = q.text(row, 13);
  r.outcome.error_message = q.text(row, 14);
  read_outcome_result(q.text(row, 15), r.outcome);
  r.outcome.input_key = q.text(row, 16);
  r.pinned_digest = q.text(row, 17);
  if (!q.is_null(row, 18)) {
    r.labels = nlohmann::json::parse(q.text(row, 18)).get<std::map<std::string, std::string>>();
  }
  return r;
}

class PostgresJobStore final : public JobStore {
public:
  PostgresJobStore(std::shared_ptr<PostgresDatabase> db, Clock clock)
      : db_(std::move(db)), clock_(std::move(clock)) {}

  EnqueueResult enqueue(const NewBuild& b) override {
    EnqueueResult result;
    db_->transaction([&](PgSession& s) {
      if (auto existing = reuse_in(s, b)) {
        result = {*existing, false};
        return;
      }
      result = {insert_in(s, b), true};
      s.exec("NOTIFY " + std::string(kChannel)); // sent at COMMIT
    });
    return result;
  }

  std::optional<std::string> reuse(const NewBuild& b) override {
    std::optional<std::string> id;
    db_->transaction([&](PgSession& s) { id = reuse_in(s, b); });
    return id;
  }

  std::optional<BuildRecord> claim(const std::string& worker,
                                   std::chrono::milliseconds lease) override {
    const std::int64_t now = clock_();
    const PgResult r = db_->exec(
        "UPDATE builds SET state = 'running', worker_id = $1, lease_expires_ms = $3, "
        "started_ms = $2, attempts = attempts + 1 WHERE seq = (SELECT seq FROM builds WHERE "
        "state = 'queued' OR (state = 'running' AND lease_expires_ms <= $2) ORDER BY seq "
        "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING " +
            std::string(kColumns),
        {worker, std::to_string(now), std::to_string(now + lease.count())});
    if (r.rows() == 0) {
      return std::nullopt;
    }
    BuildRecord record = read_row(r, 0);
    tokens_.remember(record.id, worker, record.attempts);
    return record;
  }

  HeartbeatResult heartbeat(const std::string& id, const std::string& worker,
                            std::chrono::milliseconds lease) override {
    // An expired lease is still ours until someone else claims the build.
    const PgResult r =
        db_->exec("UPDATE builds SET lease_expires_ms = $1 WHERE id = $2 AND state = 'running' AND "
                  "worker_id = $3 AND " +
                      fenced(4) + " RETURNING cancel_requested",
                  {std::to_string(clock_() + lease.count()), id, worker, token(id, worker)});
    HeartbeatResult result;
    result.lease_held = r.rows() == 1;
    result.cancel_requested = result.lease_held && r.boolean(0, 0);
    return result;
  }

  bool finish(const std::string& id, const std::string& worker, const BuildOutcome& o) override {
    if (!is_terminal(o.state)) {
      throw Error(ErrorCode::Internal, "finish() needs a terminal state");
    }
    const PgResult r = db_->exec(
        "UPDATE builds SET state = $1, finished_ms = $2, error_code = $3, error_message = $4, "
        "input_key = $5, result = $6, lease_expires_ms = NULL "
        "WHERE id = $7 AND state = 'running' AND worker_id = $8 AND " +
            fenced(9),
        {std::string(build_state_name(o.state)), std::to_string(clock_()), o.error_code,
         o.error_message, o.input_key, outcome_result_json(o), id, worker, token(id, worker)});
    const bool held = r.affected() == 1;
    if (held) { // a lost lease keeps its token: the worker stays fenced out
      tokens_.forget(id, worker);
    }
    return held;
  }

  bool release(const std::string& id, const std::string& worker) override {
    const PgResult r =
        db_->exec("UPDATE builds SET state = 'queued', worker_id = NULL, lease_expires_ms = NULL "
                  "WHERE id = $1 AND state = 'running' AND worker_id = $2 AND " +
                      fenced(3),
                  {id, worker, token(id, worker)});
    const bool held = r.affected() == 1;
    if (held) {
      tokens_.forget(id, worker);
      notify();
    }
    return held;
  }

  RemoveResult remove(const std::string& id) override {
    RemoveResult result = RemoveResult::NotFound;
    db_->transaction([&](PgSession& s) {
      const PgResult q = s.exec("SELECT state FROM builds WHERE id = $1 FOR UPDATE", {id});
      if (q.rows() == 0) {
        result = RemoveResult::NotFound;
        return;
      }
      const auto state = parse_build_state(q.text(0, 0));
      if (!state || !is_terminal(*state)) {
        result = RemoveResult::NotFinished;
        return;
      }
      // Labels and idempotency keys go with it (ON DELETE CASCADE).
      s.exec("DELETE FROM builds WHERE id = $1", {id});
      result = RemoveResult::Removed;
    });
    return result;
  }

  CancelResult cancel(const std::string& id) override {
    CancelResult result = CancelResult::NotFound;
    db_->transaction([&](PgSession& s) {
      const PgResult q = s.exec("SELECT state FROM builds WHERE id = $1 FOR UPDATE", {id});
      if (q.rows() == 0) {
        result = CancelResult::NotFound;
        return;
      }
      const auto state = parse_build_state(q.text(0, 0));
      result = CancelResult::AlreadyFinished;
      if (state == BuildState::Queued) {
        s.exec("UPDATE builds SET state = 'cancelled', finished_ms = $1, error_code = "
               "'cancelled', error_message = 'cancelled before it started' WHERE id = $2",
               {std::to_string(clock_()), id});
        result = CancelResult::Cancelled;
      } else if (state == BuildState::Running) {
        s.exec("UPDATE builds SET cancel_requested = true WHERE id = $1", {id});
        result = CancelResult::Requested;
      }
    });
    return result;
  }

  std::optional<BuildRecord> get(const std::string& id) override {
    const PgResult r =
        db_->exec("SELECT " + std::string(kColumns) + " FROM builds WHERE id = $1", {id});
    return r.rows() == 0 ? std::nullopt : std::optional(read_row(r, 0));
  }

  BuildPage list(const BuildFilter& f) override {
    const std::int64_t after = f.cursor.empty() ? INT64_MAX : parse_list_cursor(f.cursor);
    PgParams params{std::to_string(after)};
    std::string sql = "SELECT " + std::string(kColumns) + " FROM builds WHERE seq < $1";
    const auto param = [&](std::string value) {
      params.push_back(std::move(value));
      return "$" + std::to_string(params.size());
    };
    if (f.state) {
      sql += " AND state = " + param(std::string(build_state_name(*f.state)));
    }
    if (f.image) {
      sql += " AND image = " + param(*f.image);
    }
    if (f.label) {
      const std::string key = param(f.label->first);
      const std::string value = param(f.label->second);
      sql += " AND id IN (SELECT build_id FROM build_labels WHERE key = " + key +
             " AND value = " + value +
             " UNION SELECT build_id FROM build_reuse_labels WHERE key = " + key +
             " AND value = " + value + ")";
    }
    const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
    sql += " ORDER BY seq DESC LIMIT " + param(std::to_string(limit + 1));
    const PgResult r = db_->exec(sql, params);
    BuildPage page;
    for (int row = 0; row < r.rows(); ++row) {
      if (page.builds.size() == limit) {
        page.next_cursor = std::to_string(r.integer(row - 1, 0));
        break;
      }
      page.builds.push_back(read_row(r, row));
    }
    return page;
  }

  int requeue_expired() override {
    return requeue("state = 'running' AND lease_expires_ms <= $1", {std::to_string(clock_())});
  }

  // Correct only for a sole user (job_store.hpp); replicas rely on lease expiry instead.
  int requeue_all_running() override { return requeue("state = 'running'", {}); }

  std::optional<IdempotentAnswer> find_by_idempotency_key(const std::string& key) override {
    const PgResult r = db_->exec(
        "SELECT build_id, coalesce(request, '') FROM idempotency_keys WHERE key = $1", {key});
    return r.rows() == 0 ? std::nullopt
                         : std::optional(IdempotentAnswer{r.text(0, 0), r.text(0, 1)});
  }

  std::optional<std::string> find_reusable_by_input_key(const std::string& key) override {
    const PgResult r = db_->exec(std::string(kReusableSql), {key});
    return r.rows() == 0 ? std::nullopt : std::optional(r.text(0, 0));
  }

  std::size_t count_queued() override { return queue_stats().depth; }

  std::map<BuildState, std::size_t> count_by_state() override {
    const PgResult r = db_->exec("SELECT state, count(*) FROM builds GROUP BY state");
    std::map<BuildState, std::size_t> out;
    for (int row = 0; row < r.rows(); ++row) {
      if (const auto state = parse_build_state(r.text(row, 0))) {
        out[*state] = static_cast<std::size_t>(r.integer(row, 1));
      }
    }
    return out;
  }

  QueueStats queue_stats() override {
    const PgResult r =
        db_->exec("SELECT count(*), min(created_ms) FROM builds WHERE state = 'queued'");
    return {static_cast<std::size_t>(r.integer(0, 0)), r.opt_integer(0, 1)};
  }

  std::optional<std::string> check_health() override { return db_->check_health(); }

  void watch(std::function<void()> on_work) override {
    listener_ = db_->listen(std::string(kChannel), std::move(on_work));
  }

private:
  // A failed or cancelled build is not reused: asking again is how a caller retries it. Nor is
  // one whose cancel is pending: it is about to end cancelled.
  static constexpr std::string_view kReusableSql =
      "SELECT id FROM builds WHERE input_key = $1 AND state IN ('queued', 'running', "
      "'succeeded') AND NOT cancel_requested ORDER BY seq DESC LIMIT 1";

  // The build that answers `b` already: its idempotency key's, else one with equal inputs,
  // which then answers the key too (a retry with the key gets this build even if the inputs
  // change).
  std::optional<std::string> reuse_in(PgSession& s, const NewBuild& b) {
    if (b.idempotency_key) {
      const PgResult r =
          s.exec("SELECT build_id FROM idempotency_keys WHERE key = $1", {*b.idempotency_key});
      if (r.rows() == 1) {
        return r.text(0, 0);
      }
    }
    if (b.input_key.empty()) {
      return std::nullopt;
    }
    const PgResult r = s.exec(std::string(kReusableSql), {b.input_key});
    if (r.rows() == 0) {
      return std::nullopt;
    }
    for (const auto& [key, value] : b.labels) {
      s.exec("INSERT INTO build_reuse_labels(build_id, key, value) VALUES($1, $2, $3) "
             "ON CONFLICT DO NOTHING",
             {r.text(0, 0), key, value});
    }
    if (b.idempotency_key) { // a concurrent answer to the key violates its primary key: retried
      s.exec("INSERT INTO idempotency_keys(key, build_id, request) VALUES($1, $2, $3)",
             {*b.idempotency_key, r.text(0, 0), b.request_json});
    }
    return r.text(0, 0);
  }

  std::string insert_in(PgSession& s, const NewBuild& b) {
    const std::string id = new_build_id();
    s.exec("INSERT INTO builds(id, state, request, image, idempotency_key, created_ms, "
           "input_key, pinned_digest) VALUES($1, 'queued', $2, $3, $4, $5, $6, $7)",
           {id, b.request_json, b.image, b.idempotency_key, std::to_string(clock_()),
            text_or_null(b.input_key), text_or_null(b.pinned_digest)});
    if (b.idempotency_key) {
      s.exec("INSERT INTO idempotency_keys(key, build_id, request) VALUES($1, $2, $3)",
             {*b.idempotency_key, id, b.request_json});
    }
    for (const auto& [key, value] : b.labels) {
      s.exec("INSERT INTO build_labels(build_id, key, value) VALUES($1, $2, $3)", {id, key, value});
    }
    return id;
  }

  int requeue(const std::string& where, const PgParams& params) {
    const PgResult r = db_->exec("UPDATE builds SET state = 'queued', worker_id = NULL, "
                                 "lease_expires_ms = NULL WHERE " +
                                     where,
                                 params);
    const auto n = static_cast<int>(r.affected());
    if (n > 0) {
      notify();
    }
    return n;
  }

  void notify() { db_->exec("NOTIFY " + std::string(kChannel)); }

  std::optional<std::string> token(const std::string& id, const std::string& worker) const {
    const auto attempt = tokens_.find(id, worker);
    return attempt ? std::optional(std::to_string(*attempt)) : std::nullopt;
  }

  std::shared_ptr<PostgresDatabase> db_;
  Clock clock_;
  LeaseTokens tokens_;
  std::unique_ptr<PostgresListener> listener_; // last: stops before the rest goes
};

} // namespace

std::unique_ptr<JobStore> open_postgres_job_store(std::shared_ptr<PostgresDatabase> db,
                                                  Clock clock) {
  return std::make_unique<PostgresJobStore>(std::move(db), std::move(clock));
}

} // namespace oci2eif::server
