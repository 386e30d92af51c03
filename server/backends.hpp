// Backends: the one place that chooses the storage behind every seam (docs/ARCHITECTURE.md,
// "Seams"; docs/scale-out.md) from the configuration:
//
//   seam                embedded (default)               scale-out
//   JobStore            SQLite   DATA/jobs.db            PostgreSQL  (--database)
//   BuildLogStore       files    DATA/logs/              PostgreSQL
//   WebhookDedupe       SQLite   DATA/jobs.db            PostgreSQL
//   ArtifactStore       files    DATA/artifacts/         S3          (--object-store)
//   shared layer cache  none (DATA/cache only)           S3, behind DATA/cache
//   SharedKernels       none (DATA/kernels only)         PostgreSQL rows + S3 files
//
// A database and an object store go together: replicas share builds only if they share both
// (a build claimed anywhere must find its kernel, and its artifacts must be readable anywhere),
// so one without the other is refused.
#pragma once

#include "registry/shared_blob_store.hpp"
#include "server/artifact_store.hpp"
#include "server/build_log_store.hpp"
#include "server/config.hpp"
#include "server/dependency_monitor.hpp"
#include "server/job_store.hpp"
#include "server/shared_kernels.hpp"
#include "server/webhook_dedupe.hpp"

#include <filesystem>
#include <memory>
#include <vector>

namespace oci2eif::server {

class PostgresDatabase;
class S3Client;

struct Backends {
  bool shared = false; // scale-out: other replicas use the same database and bucket
  std::shared_ptr<PostgresDatabase> database;
  std::shared_ptr<S3Client> object_store;
  std::unique_ptr<JobStore> jobs;
  std::unique_ptr<BuildLogStore> logs;
  std::unique_ptr<WebhookDedupe> webhook_dedupe;
  std::unique_ptr<ArtifactStore> artifacts;
  std::shared_ptr<registry::SharedBlobStore> shared_blobs; // nullptr: embedded
  std::shared_ptr<SharedKernels> shared_kernels;           // nullptr: embedded
  // What DependencyMonitor watches: the database and the object store (none when embedded).
  std::vector<Dependency> dependencies() const;
};

// DATA/artifacts/: where the embedded ArtifactStore keeps one directory per build.
std::filesystem::path embedded_artifacts_dir(const std::filesystem::path& data_dir);

// Opens the configured backends (creating what the data directory needs). Throws InvalidInput
// for a database without an object store or the reverse, Unavailable when a server cannot be
// reached at start (the caller may retry), and what the backends throw.
Backends open_backends(const ServeConfig& config);

} // namespace oci2eif::server
