#include "server/postgres_schema.hpp"

#include "server/postgres_database.hpp"

#include <array>
#include <string_view>

namespace oci2eif::server {
namespace {

// pg_advisory_lock's first key: "oci2" in ASCII; the second is the schema's hash.
constexpr std::string_view kLockKey = "1869768498";

constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE builds(
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  state text NOT NULL
    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  request text NOT NULL,
  image text NOT NULL,
  idempotency_key text,
  input_key text,
  created_ms bigint NOT NULL,
  started_ms bigint,
  finished_ms bigint,
  attempts integer NOT NULL DEFAULT 0,
  worker_id text,
  lease_expires_ms bigint,
  cancel_requested boolean NOT NULL DEFAULT false,
  error_code text,
  error_message text,
  result text,
  pinned_digest text);
CREATE INDEX builds_claimable ON builds(seq) WHERE state IN ('queued', 'running');
CREATE INDEX builds_state ON builds(state, seq);
CREATE INDEX builds_image ON builds(image, seq);
CREATE INDEX builds_input_key ON builds(input_key, seq);
CREATE UNIQUE INDEX builds_live_input_key ON builds(input_key)
  WHERE state IN ('queued', 'running') AND NOT cancel_requested;
CREATE TABLE build_labels(
  build_id text NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY(build_id, key));
CREATE INDEX build_labels_key_value ON build_labels(key, value);
CREATE TABLE idempotency_keys(
  key text PRIMARY KEY,
  build_id text NOT NULL REFERENCES builds(id) ON DELETE CASCADE);
CREATE INDEX idempotency_keys_build ON idempotency_keys(build_id);
CREATE TABLE webhook_deliveries(
  key text PRIMARY KEY,
  claimed_ms bigint NOT NULL);
CREATE TABLE build_log_chunks(
  build_id text NOT NULL,
  start_offset bigint NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY(build_id, start_offset));
)sql";

// Kernels uploaded through any replica (shared_kernel_store.hpp): the catalog every replica
// lists; the files are in the object store under the digest.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE kernels(
  name text PRIMARY KEY,
  digest text NOT NULL,
  arch text NOT NULL CHECK (arch IN ('x86_64', 'aarch64')),
  parts text NOT NULL,
  created_ms bigint NOT NULL);
CREATE INDEX kernels_digest ON kernels(digest);
)sql";

// The request an idempotency key first came with: a reuse with another request is refused.
constexpr std::string_view kVersion3 = R"sql(
ALTER TABLE idempotency_keys ADD COLUMN request text;
)sql";

// The labels of later requests an equal build answered (reuse): the list filter finds it by
// theirs too, not only by the first request's.
constexpr std::string_view kVersion4 = R"sql(
CREATE TABLE build_reuse_labels(
  build_id text NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY(build_id, key, value));
CREATE INDEX build_reuse_labels_key_value ON build_reuse_labels(key, value);
)sql";

constexpr std::array<std::string_view, 4> kMigrations = {kVersion1, kVersion2, kVersion3,
                                                         kVersion4}; // version = index + 1

void apply(PostgresDatabase& db, int version, std::string_view sql) {
  db.transaction([&](PgSession& s) {
    // A simple-query string may hold several statements; PQexecParams takes one, so split.
    std::size_t start = 0;
    while (start < sql.size()) {
      const std::size_t end = sql.find(";\n", start);
      const std::string_view statement =
          sql.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      if (statement.find_first_not_of(" \n") != std::string_view::npos) {
        s.exec(statement);
      }
      start = end == std::string_view::npos ? sql.size() : end + 2;
    }
    s.exec("INSERT INTO schema_migrations(version, applied_at) VALUES($1, now())",
           {std::to_string(version)});
  });
}

void migrate_locked(PostgresDatabase& db) {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations("
          "version integer PRIMARY KEY, applied_at timestamptz NOT NULL)");
  const PgResult r = db.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  const auto current = static_cast<int>(r.integer(0, 0));
  const int known = static_cast<int>(kMigrations.size());
  if (current > known) {
    throw Error(ErrorCode::Unsupported, "PostgreSQL at " + db.server_name() +
                                            " has schema version " + std::to_string(current) +
                                            "; this oci2eif knows up to version " +
                                            std::to_string(known) + ": upgrade oci2eif");
  }
  for (int v = current + 1; v <= known; ++v) {
    apply(db, v, kMigrations[static_cast<std::size_t>(v - 1)]);
  }
}

} // namespace

void migrate_postgres_schema(PostgresDatabase& db) {
  // The advisory lock lives as long as this connection's session; the migrations run on others.
  PgSession lock = db.session();
  const std::string key = std::string(kLockKey) + ", hashtext(current_schema())";
  lock.exec("SELECT pg_advisory_lock(" + key + ")");
  try {
    migrate_locked(db);
  } catch (...) {
    try {
      lock.exec("SELECT pg_advisory_unlock(" + key + ")");
    } catch (const Error&) { // the connection is gone, and its lock with it
    }
    throw;
  }
  lock.exec("SELECT pg_advisory_unlock(" + key + ")");
}

} // namespace oci2eif::server
