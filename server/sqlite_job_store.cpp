// JobStore over one SQLite file (WAL). Schema (version 4; version 1 lacked pinned_digest,
// version 2 idempotency_keys.request, version 3 build_reuse_labels; all are migrated on open):
//
//   schema_version(version)                       one row
//   builds(seq PK autoincrement, id unique, state, request, image, idempotency_key unique,
//          input_key, created_ms, started_ms, finished_ms, attempts, worker_id,
//          lease_expires_ms, cancel_requested, error_code, error_message, result JSON,
//          pinned_digest)
//   build_labels(build_id → builds.id, key, value)  PK (build_id, key)
//   build_reuse_labels(build_id → builds.id, key, value)  PK (all three): the labels of later
//                                                   requests an equal build answered (reuse), so
//                                                   a list filter finds it by theirs too
//   idempotency_keys(key PK, build_id → builds.id, request)  keys of requests answered with an
//                                                   existing build (equal inputs), with the
//                                                   request; a new build keeps its key in
//                                                   builds.idempotency_key
//
// `seq` orders builds (claim takes the lowest claimable, list pages newest first by seq; the
// cursor is the last seq seen). Writes run in BEGIN IMMEDIATE transactions, so a claim is a
// single read-modify-write that no other connection (thread or process) can interleave with.
#include "core/error.hpp"
#include "server/build_row_codec.hpp"
#include "server/job_store.hpp"
#include "server/lease_tokens.hpp"
#include "server/sqlite_db.hpp"

#include <algorithm>
#include <mutex>

namespace oci2eif::server {
namespace {

constexpr int kSchemaVersion = 4;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS builds(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  request TEXT NOT NULL,
  image TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  input_key TEXT,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER,
  finished_ms INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  worker_id TEXT,
  lease_expires_ms INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error_message TEXT,
  result TEXT,
  pinned_digest TEXT);
CREATE INDEX IF NOT EXISTS builds_state ON builds(state, seq);
CREATE INDEX IF NOT EXISTS builds_input_key ON builds(input_key, state);
CREATE TABLE IF NOT EXISTS build_labels(
  build_id TEXT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(build_id, key));
CREATE TABLE IF NOT EXISTS build_reuse_labels(
  build_id TEXT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(build_id, key, value));
CREATE INDEX IF NOT EXISTS build_reuse_labels_key_value ON build_reuse_labels(key, value);
CREATE TABLE IF NOT EXISTS idempotency_keys(
  key TEXT PRIMARY KEY,
  build_id TEXT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  request TEXT);
)sql";

constexpr std::string_view kColumns =
    "seq, id, state, request, image, idempotency_key, created_ms, started_ms, finished_ms, "
    "attempts, worker_id, lease_expires_ms, cancel_requested, error_code, error_message, "
    "result, input_key, pinned_digest";

std::optional<std::int64_t> opt_int(const SqliteStmt& s, int column) {
  return s.is_null(column) ? std::nullopt : std::optional(s.integer(column));
}

class SqliteJobStore final : public JobStore {
public:
  SqliteJobStore(const std::string& path, Clock clock) : db_(path), clock_(std::move(clock)) {
    db_.require_intact();
    SqliteTransaction tx(db_);
    db_.exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    SqliteStmt version(db_, "SELECT version FROM schema_version");
    if (!version.step()) {
      db_.exec(std::string(kSchema));
      SqliteStmt(db_, "INSERT INTO schema_version(version) VALUES(?)")
          .bind(1, std::int64_t{kSchemaVersion})
          .run();
    } else if (version.integer(0) < kSchemaVersion) {
      migrate(version.integer(0));
    } else if (version.integer(0) != kSchemaVersion) {
      throw Error(ErrorCode::Unsupported,
                  "database " + path + " has schema version " + std::to_string(version.integer(0)) +
                      "; this oci2eif reads version " + std::to_string(kSchemaVersion));
    }
    tx.commit();
  }

  // v2 added the digest a registry tag resolved to, v3 the request an idempotency key came with,
  // v4 build_reuse_labels.
  void migrate(std::int64_t from) {
    if (from == 1) {
      db_.exec("ALTER TABLE builds ADD COLUMN pinned_digest TEXT");
    }
    db_.exec(std::string(kSchema)); // the tables added since (the others exist: IF NOT EXISTS)
    if (!has_column("idempotency_keys", "request")) {
      db_.exec("ALTER TABLE idempotency_keys ADD COLUMN request TEXT");
    }
    db_.exec("UPDATE schema_version SET version = " + std::to_string(kSchemaVersion));
  }

  bool has_column(const std::string& table, const std::string& column) {
    SqliteStmt q(db_, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
    q.bind(1, table).bind(2, column);
    return q.step();
  }

  std::optional<std::string> reuse(const NewBuild& b) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    auto id = reuse_locked(b);
    tx.commit();
    return id;
  }

  EnqueueResult enqueue(const NewBuild& b) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    if (auto existing = reuse_locked(b)) {
      tx.commit();
      return {*existing, false};
    }
    const std::string id = new_build_id();
    SqliteStmt(db_, "INSERT INTO builds(id, state, request, image, idempotency_key, created_ms, "
                    "input_key, pinned_digest) VALUES(?, 'queued', ?, ?, ?, ?, ?, ?)")
        .bind(1, id)
        .bind(2, b.request_json)
        .bind(3, b.image)
        .bind_opt(4, b.idempotency_key)
        .bind(5, clock_())
        .bind_opt(6, b.input_key.empty() ? std::nullopt : std::optional(b.input_key))
        .bind_opt(7, b.pinned_digest.empty() ? std::nullopt : std::optional(b.pinned_digest))
        .run();
    for (const auto& [key, value] : b.labels) {
      SqliteStmt(db_, "INSERT INTO build_labels(build_id, key, value) VALUES(?, ?, ?)")
          .bind(1, id)
          .bind(2, key)
          .bind(3, value)
          .run();
    }
    tx.commit();
    return {id, true};
  }

  std::optional<BuildRecord> claim(const std::string& worker,
                                   std::chrono::milliseconds lease) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    const std::int64_t now = clock_();
    SqliteStmt pick(db_, "SELECT id FROM builds WHERE state = 'queued' OR (state = 'running' AND "
                         "lease_expires_ms <= ?) ORDER BY seq LIMIT 1");
    pick.bind(1, now);
    if (!pick.step()) {
      return std::nullopt;
    }
    const std::string id = pick.text(0);
    SqliteStmt(db_, "UPDATE builds SET state = 'running', worker_id = ?, lease_expires_ms = ?, "
                    "started_ms = ?, attempts = attempts + 1 WHERE id = ?")
        .bind(1, worker)
        .bind(2, now + lease.count())
        .bind(3, now)
        .bind(4, id)
        .run();
    auto record = get_locked(id);
    tx.commit();
    if (record) {
      tokens_.remember(id, worker, record->attempts);
    }
    return record;
  }

  HeartbeatResult heartbeat(const std::string& id, const std::string& worker,
                            std::chrono::milliseconds lease) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    const std::int64_t now = clock_();
    // An expired lease is still ours until someone else claims the build.
    SqliteStmt extend(db_, "UPDATE builds SET lease_expires_ms = ? "
                           "WHERE id = ? AND state = 'running' AND worker_id = ? AND " +
                               fenced(4));
    extend.bind(1, now + lease.count()).bind(2, id).bind(3, worker);
    bind_token(extend, 4, id, worker);
    extend.run();
    HeartbeatResult r;
    r.lease_held = db_.changes() == 1;

    if (r.lease_held) {
      SqliteStmt q(db_, "SELECT cancel_requested FROM builds WHERE id = ?");
      q.bind(1, id);
      r.cancel_requested = q.step() && q.integer(0) != 0;
    }
    tx.commit();
    return r;
  }

  bool finish(const std::string& id, const std::string& worker, const BuildOutcome& o) override {
    if (!is_terminal(o.state)) {
      throw Error(ErrorCode::Internal, "finish() needs a terminal state");
    }
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    SqliteStmt end(db_, "UPDATE builds SET state = ?, finished_ms = ?, error_code = ?, "
                        "error_message = ?, input_key = ?, result = ?, lease_expires_ms = NULL "
                        "WHERE id = ? AND state = 'running' AND worker_id = ? AND " +
                            fenced(9));
    end.bind(1, build_state_name(o.state))
        .bind(2, clock_())
        .bind(3, o.error_code)
        .bind(4, o.error_message)
        .bind(5, o.input_key)
        .bind(6, outcome_result_json(o))
        .bind(7, id)
        .bind(8, worker);
    bind_token(end, 9, id, worker);
    end.run();
    const bool held = db_.changes() == 1;
    tx.commit();
    if (held) { // a lost lease keeps its token: the worker stays fenced out
      tokens_.forget(id, worker);
    }
    return held;
  }

  bool release(const std::string& id, const std::string& worker) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    SqliteStmt back(db_, "UPDATE builds SET state = 'queued', worker_id = NULL, "
                         "lease_expires_ms = NULL WHERE id = ? AND state = 'running' AND "
                         "worker_id = ? AND " +
                             fenced(3));
    back.bind(1, id).bind(2, worker);
    bind_token(back, 3, id, worker);
    back.run();
    const bool held = db_.changes() == 1;
    tx.commit();
    if (held) { // a lost lease keeps its token: the worker stays fenced out
      tokens_.forget(id, worker);
    }
    return held;
  }

  RemoveResult remove(const std::string& id) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    SqliteStmt q(db_, "SELECT state FROM builds WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) {
      return RemoveResult::NotFound;
    }
    const auto state = parse_build_state(q.text(0));
    if (!state || !is_terminal(*state)) {
      return RemoveResult::NotFinished;
    }
    SqliteStmt(db_, "DELETE FROM build_labels WHERE build_id = ?").bind(1, id).run();
    SqliteStmt(db_, "DELETE FROM build_reuse_labels WHERE build_id = ?").bind(1, id).run();
    SqliteStmt(db_, "DELETE FROM idempotency_keys WHERE build_id = ?").bind(1, id).run();
    SqliteStmt(db_, "DELETE FROM builds WHERE id = ?").bind(1, id).run();
    tx.commit();
    return RemoveResult::Removed;
  }

  CancelResult cancel(const std::string& id) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    SqliteStmt q(db_, "SELECT state FROM builds WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) {
      return CancelResult::NotFound;
    }
    const auto state = parse_build_state(q.text(0));
    CancelResult result = CancelResult::AlreadyFinished;
    if (state == BuildState::Queued) {
      SqliteStmt(db_, "UPDATE builds SET state = 'cancelled', finished_ms = ?, error_code = "
                      "'cancelled', error_message = 'cancelled before it started' WHERE id = ?")
          .bind(1, clock_())
          .bind(2, id)
          .run();
      result = CancelResult::Cancelled;
    } else if (state == BuildState::Running) {
      SqliteStmt(db_, "UPDATE builds SET cancel_requested = 1 WHERE id = ?").bind(1, id).run();
      result = CancelResult::Requested;
    }
    tx.commit();
    return result;
  }

  std::optional<BuildRecord> get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    return get_locked(id);
  }

  BuildPage list(const BuildFilter& f) override {
    std::lock_guard lock(mutex_);
    std::string sql = "SELECT " + std::string(kColumns) + " FROM builds WHERE seq < ?";
    if (f.state) {
      sql += " AND state = ?";
    }
    if (f.image) {
      sql += " AND image = ?";
    }
    if (f.label) {
      sql += " AND id IN (SELECT build_id FROM build_labels WHERE key = ? AND value = ? UNION "
             "SELECT build_id FROM build_reuse_labels WHERE key = ? AND value = ?)";
    }
    sql += " ORDER BY seq DESC LIMIT ?";
    SqliteStmt q(db_, sql);
    int i = 1;
    q.bind(i++, f.cursor.empty() ? INT64_MAX : parse_list_cursor(f.cursor));
    if (f.state) {
      q.bind(i++, build_state_name(*f.state));
    }
    if (f.image) {
      q.bind(i++, *f.image);
    }
    if (f.label) {
      q.bind(i, f.label->first).bind(i + 1, f.label->second);
      q.bind(i + 2, f.label->first).bind(i + 3, f.label->second);
      i += 4;
    }
    const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
    q.bind(i++, static_cast<std::int64_t>(limit + 1));
    BuildPage page;
    std::int64_t last_seq = 0;
    while (q.step()) {
      if (page.builds.size() == limit) {
        page.next_cursor = std::to_string(last_seq);
        break;
      }
      last_seq = q.integer(0);
      page.builds.push_back(read_row(q));
    }
    return page;
  }

  int requeue_expired() override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    SqliteStmt(db_, "UPDATE builds SET state = 'queued', worker_id = NULL, lease_expires_ms = "
                    "NULL WHERE state = 'running' AND lease_expires_ms <= ?")
        .bind(1, clock_())
        .run();
    const int n = db_.changes();
    tx.commit();
    return n;
  }

  int requeue_all_running() override {
    std::lock_guard lock(mutex_);
    SqliteTransaction tx(db_);
    db_.exec("UPDATE builds SET state = 'queued', worker_id = NULL, lease_expires_ms = NULL "
             "WHERE state = 'running'");
    const int n = db_.changes();
    tx.commit();
    return n;
  }

  std::optional<IdempotentAnswer> find_by_idempotency_key(const std::string& key) override {
    std::lock_guard lock(mutex_);
    return idempotent_locked(key);
  }

  std::optional<std::string> find_reusable_by_input_key(const std::string& key) override {
    std::lock_guard lock(mutex_);
    return reusable_locked(key);
  }

  std::size_t count_queued() override {
    std::lock_guard lock(mutex_);
    SqliteStmt q(db_, "SELECT count(*) FROM builds WHERE state = 'queued'");
    q.step();
    return static_cast<std::size_t>(q.integer(0));
  }

  std::map<BuildState, std::size_t> count_by_state() override {
    std::lock_guard lock(mutex_);
    SqliteStmt q(db_, "SELECT state, count(*) FROM builds GROUP BY state");
    std::map<BuildState, std::size_t> out;
    while (q.step()) {
      if (const auto state = parse_build_state(q.text(0))) {
        out[*state] = static_cast<std::size_t>(q.integer(1));
      }
    }
    return out;
  }

  QueueStats queue_stats() override {
    std::lock_guard lock(mutex_);
    SqliteStmt q(db_, "SELECT count(*), min(created_ms) FROM builds WHERE state = 'queued'");
    q.step();
    return {static_cast<std::size_t>(q.integer(0)), opt_int(q, 1)};
  }

  std::optional<std::string> check_health() override {
    try {
      std::lock_guard lock(mutex_);
      SqliteStmt(db_, "SELECT 1 FROM schema_version").step();
      return std::nullopt;
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  // One process uses the file (it holds the data directory's lock), and its API wakes its own
  // workers when it enqueues: there is no one else to hear from.
  void watch(std::function<void()>) override {}

private:
  // The fencing token's guard: bound to the attempt this store's claim() handed out, or NULL
  // for a lease claimed through another store object (then the worker id alone decides).
  static std::string fenced(int index) {
    const std::string p = "?" + std::to_string(index);
    return "(" + p + " IS NULL OR attempts = " + p + ")";
  }

  void bind_token(SqliteStmt& stmt, int index, const std::string& id, const std::string& worker) {
    if (const auto attempt = tokens_.find(id, worker)) {
      stmt.bind(index, std::int64_t{*attempt});
    } else {
      stmt.bind(index, std::nullopt);
    }
  }

  // A failed or cancelled build is not reused: asking again is how a caller retries it. Nor is
  // one whose cancel is pending: it is about to end cancelled.
  std::optional<std::string> reusable_locked(const std::string& input_key) {
    SqliteStmt q(db_, "SELECT id FROM builds WHERE input_key = ? AND state IN ('queued', "
                      "'running', 'succeeded') AND cancel_requested = 0 "
                      "ORDER BY seq DESC LIMIT 1");
    q.bind(1, input_key);
    return q.step() ? std::optional(q.text(0)) : std::nullopt;
  }

  // The build that answers `b` already: its idempotency key's, else one with equal inputs, which
  // then answers the key too (a retry with the key gets this build even if the inputs change).
  std::optional<std::string> reuse_locked(const NewBuild& b) {
    if (b.idempotency_key) {
      if (auto answer = idempotent_locked(*b.idempotency_key)) {
        return answer->build_id;
      }
    }
    if (b.input_key.empty()) {
      return std::nullopt;
    }
    auto id = reusable_locked(b.input_key);
    if (id) {
      for (const auto& [key, value] : b.labels) {
        SqliteStmt(db_, "INSERT OR IGNORE INTO build_reuse_labels(build_id, key, value) "
                        "VALUES(?, ?, ?)")
            .bind(1, *id)
            .bind(2, key)
            .bind(3, value)
            .run();
      }
    }
    if (id && b.idempotency_key) {
      SqliteStmt(db_, "INSERT INTO idempotency_keys(key, build_id, request) VALUES(?, ?, ?)")
          .bind(1, *b.idempotency_key)
          .bind(2, *id)
          .bind(3, b.request_json)
          .run();
    }
    return id;
  }

  std::optional<IdempotentAnswer> idempotent_locked(const std::string& key) {
    SqliteStmt answered(
        db_, "SELECT build_id, coalesce(request, '') FROM idempotency_keys WHERE key = ?");
    answered.bind(1, key);
    if (answered.step()) {
      return IdempotentAnswer{answered.text(0), answered.text(1)};
    }
    SqliteStmt q(db_, "SELECT id, request FROM builds WHERE idempotency_key = ?");
    q.bind(1, key);
    return q.step() ? std::optional(IdempotentAnswer{q.text(0), q.text(1)}) : std::nullopt;
  }

  std::optional<BuildRecord> get_locked(const std::string& id) {
    SqliteStmt q(db_, "SELECT " + std::string(kColumns) + " FROM builds WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) {
      return std::nullopt;
    }
    return read_row(q);
  }

  BuildRecord read_row(const SqliteStmt& q) {
    BuildRecord r;
    r.id = q.text(1);
    r.state = parse_build_state(q.text(2)).value_or(BuildState::Failed);
    r.request_json = q.text(3);
    r.image = q.text(4);
    if (!q.is_null(5)) {
      r.idempotency_key = q.text(5);
    }
    r.created_ms = q.integer(6);
    r.started_ms = opt_int(q, 7);
    r.finished_ms = opt_int(q, 8);
    r.attempts = static_cast<int>(q.integer(9));
    r.worker_id = q.text(10);
    r.lease_expires_ms = q.integer(11);
    r.cancel_requested = q.integer(12) != 0;
    r.outcome.state = r.state;
    r.outcome.error_code = q.text(13);
    r.outcome.error_message = q.text(14);
    read_outcome_result(q.text(15), r.outcome);
    r.outcome.input_key = q.text(16);
    r.pinned_digest = q.text(17);
    SqliteStmt labels(db_, "SELECT key, value FROM build_labels WHERE build_id = ?");
    labels.bind(1, r.id);
    while (labels.step()) {
      r.labels[labels.text(0)] = labels.text(1);
    }
    return r;
  }

  std::mutex mutex_;
  SqliteDb db_;
  Clock clock_;
  LeaseTokens tokens_;
};

} // namespace

std::unique_ptr<JobStore> open_sqlite_job_store(const std::string& path, Clock clock) {
  return std::make_unique<SqliteJobStore>(path, std::move(clock));
}

} // namespace oci2eif::server
