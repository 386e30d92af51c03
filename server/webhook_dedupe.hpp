// Remembers webhook deliveries so a registry's retry (or two registries announcing one push)
// queues one build: a key is claimed at most once per window. A seam (docs/ARCHITECTURE.md,
// "Seams"): the embedded default keeps the keys in SQLite (its own table in the daemon's
// database), so the window survives a restart; replicas sharing a PostgreSQL database keep them
// there, so that a delivery reaching two replicas still queues one build.
#pragma once

#include "server/job_store.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace oci2eif::server {

class PostgresDatabase;

// Safe from several threads, and (over one database) from several processes.
class WebhookDedupe {
public:
  virtual ~WebhookDedupe() = default;

  // True if `key` was not claimed within the window (and records it now); false for a
  // duplicate. Atomic: of two concurrent callers with one key, one gets true.
  virtual bool claim(const std::string& key) = 0;
  // Forgets `key` (the build it was claimed for could not be queued).
  virtual void release(const std::string& key) = 0;
};

// Keys in the SQLite database at `path` (table webhook_deliveries, created if missing); `clock`
// dates claims, which expire after `window`.
std::unique_ptr<WebhookDedupe> open_sqlite_webhook_dedupe(const std::string& path, Clock clock,
                                                          std::chrono::seconds window);

// Keys in the shared PostgreSQL database (webhook_deliveries, which open_postgres_database()
// migrates), so that every replica sees every claim. Throws what PostgresDatabase throws
// (Unavailable when the server cannot be reached).
std::unique_ptr<WebhookDedupe> open_postgres_webhook_dedupe(std::shared_ptr<PostgresDatabase> db,
                                                            Clock clock,
                                                            std::chrono::seconds window);

} // namespace oci2eif::server
