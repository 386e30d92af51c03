// The PostgreSQL database's schema, as numbered migrations applied in order. Each version is
// recorded in schema_migrations(version, applied_at) when it is applied; a version once released
// never changes (a change is a new version).
//
// Version 1:
//   builds(seq bigserial PK, id unique, state, request, image, idempotency_key, input_key,
//          created_ms, started_ms, finished_ms, attempts, worker_id, lease_expires_ms,
//          cancel_requested, error_code, error_message, result JSON, pinned_digest)
//     builds_live_input_key: unique input_key among queued/running builds with no cancel
//       pending, so that two replicas enqueueing equal inputs make one build
//   build_labels(build_id → builds.id, key, value)      PK (build_id, key)
//   idempotency_keys(key PK, build_id → builds.id)      every key a request was answered with
//                                                       (its own new build, or an existing one)
//   webhook_deliveries(key PK, claimed_ms)              webhook_dedupe
//   build_log_chunks(build_id, start_offset, data)      PK (build_id, start_offset)
#pragma once

namespace oci2eif::server {

class PostgresDatabase;

// Applies the migrations `db` lacks, each in its own transaction, holding an advisory lock (per
// schema) meanwhile so that replicas starting together migrate once. Throws Unsupported if the
// database has a version newer than this oci2eif knows.
void migrate_postgres_schema(PostgresDatabase& db);

} // namespace oci2eif::server
