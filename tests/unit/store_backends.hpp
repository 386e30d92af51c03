// The storage backends the conformance suites run through, one list per seam (docs/ARCHITECTURE.md,
// "Seams"). Each suite (test_server_job_store.cpp, test_server_artifact_store.cpp,
// test_registry_blob_cache.cpp, test_server_build_log_store.cpp, test_server_webhook_dedupe.cpp)
// is written once against the interface as a TEST_CASE_TEMPLATE
// over its list; a new backend adds a type here and its name to the list, and runs every case.
//
// A backend type owns one fresh, empty storage location for the duration of a test case and
// hands out stores over it; stores opened from one backend share that location, as two daemons
// sharing a database or a bucket would.
#pragma once

#include "core/interrupt.hpp"
#include "registry/blob_cache.hpp"
#include "server/artifact_store.hpp"
#include "server/build_log_store.hpp"
#include "server/job_store.hpp"
#include "server/postgres_database.hpp"
#include "server/postgres_job_store.hpp"
#include "server/s3_blob_store.hpp"
#include "server/webhook_dedupe.hpp"
#include "tests/unit/s3_service.hpp"
#include "tests/unit/test_services.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <memory>
#include <vector>

namespace oci2eif::test {

// JobStore: open(clock) gives a store over the backend's database whose time is `clock`.
struct SqliteJobStoreBackend {
  TempDir dir;
  std::unique_ptr<server::JobStore> open(server::Clock clock) {
    return server::open_sqlite_job_store((dir / "jobs.db").string(), std::move(clock));
  }
};
// A fresh schema on the test PostgreSQL server (CTest's `postgres` fixture); each open() is a
// replica of its own: its own connection pool, migrating at start.
struct PostgresJobStoreBackend {
  PostgresTestSchema schema;
  std::unique_ptr<server::JobStore> open(server::Clock clock) {
    return server::open_postgres_job_store(server::open_postgres_database(schema.url()),
                                           std::move(clock));
  }
};
#define OCI2EIF_JOB_STORE_BACKENDS                                                                 \
  oci2eif::test::SqliteJobStoreBackend, oci2eif::test::PostgresJobStoreBackend

// ArtifactStore: open() gives a store over the backend's location.
struct DirectoryArtifactStoreBackend {
  TempDir dir;
  std::unique_ptr<server::ArtifactStore> open() {
    return server::open_directory_artifact_store(dir / "artifacts");
  }
};
// A fresh prefix in the bucket of the S3 server tests/services/s3.py runs (s3_service.hpp).
struct S3ArtifactStoreBackend {
  std::shared_ptr<server::S3Client> s3 = s3_client(fresh_s3_prefix());
  std::unique_ptr<server::ArtifactStore> open() { return server::open_s3_artifact_store(s3); }
};
#define OCI2EIF_ARTIFACT_STORE_BACKENDS                                                            \
  oci2eif::test::DirectoryArtifactStoreBackend, oci2eif::test::S3ArtifactStoreBackend

// BlobCache: open() gives a cache over the backend's location with these options (its
// location ignored).
struct DirectoryBlobCacheBackend {
  TempDir dir;
  std::unique_ptr<registry::BlobCache> open(registry::BlobCacheOptions options) {
    options.dir = dir.path();
    return registry::open_blob_cache(options);
  }
};
// Directory caches as replicas would have them: each open() its own empty local directory, all
// over one shared S3 second level (a fresh prefix in the test bucket).
struct S3BlobCacheBackend {
  std::shared_ptr<registry::SharedBlobStore> shared =
      server::open_s3_blob_store(s3_client(fresh_s3_prefix()));
  std::vector<std::unique_ptr<TempDir>> replicas;
  std::unique_ptr<registry::BlobCache> open(registry::BlobCacheOptions options) {
    replicas.push_back(std::make_unique<TempDir>());
    options.dir = replicas.back()->path();
    options.shared = shared;
    return registry::open_blob_cache(options);
  }
};
#define OCI2EIF_BLOB_CACHE_BACKENDS                                                                \
  oci2eif::test::DirectoryBlobCacheBackend, oci2eif::test::S3BlobCacheBackend

// BuildLogStore: open() gives a store over the backend's location.
struct DirectoryBuildLogStoreBackend {
  TempDir dir;
  std::unique_ptr<server::BuildLogStore> open() {
    return server::open_directory_build_log_store(dir / "logs");
  }
};
struct PostgresBuildLogStoreBackend {
  PostgresTestSchema schema;
  std::unique_ptr<server::BuildLogStore> open() {
    return server::open_postgres_build_log_store(server::open_postgres_database(schema.url()));
  }
};
#define OCI2EIF_BUILD_LOG_STORE_BACKENDS                                                           \
  oci2eif::test::DirectoryBuildLogStoreBackend, oci2eif::test::PostgresBuildLogStoreBackend

// WebhookDedupe: open(clock, window) gives a dedupe over the backend's database.
struct SqliteWebhookDedupeBackend {
  TempDir dir;
  std::unique_ptr<server::WebhookDedupe> open(server::Clock clock, std::chrono::seconds window) {
    return server::open_sqlite_webhook_dedupe((dir / "jobs.db").string(), std::move(clock), window);
  }
};
struct PostgresWebhookDedupeBackend {
  PostgresTestSchema schema;
  std::unique_ptr<server::WebhookDedupe> open(server::Clock clock, std::chrono::seconds window) {
    return server::open_postgres_webhook_dedupe(server::open_postgres_database(schema.url()),
                                                std::move(clock), window);
  }
};
#define OCI2EIF_WEBHOOK_DEDUPE_BACKENDS                                                            \
  oci2eif::test::SqliteWebhookDedupeBackend, oci2eif::test::PostgresWebhookDedupeBackend

} // namespace oci2eif::test

// A backend that needs a server has its name in every case it runs ("…<postgres>", "…<s3>"):
// tests/CMakeLists.txt gives those cases the fixture that starts it.
TYPE_TO_STRING_AS("sqlite", oci2eif::test::SqliteJobStoreBackend);
TYPE_TO_STRING_AS("postgres", oci2eif::test::PostgresJobStoreBackend);
TYPE_TO_STRING_AS("directory", oci2eif::test::DirectoryArtifactStoreBackend);
TYPE_TO_STRING_AS("directory", oci2eif::test::DirectoryBlobCacheBackend);
TYPE_TO_STRING_AS("directory", oci2eif::test::DirectoryBuildLogStoreBackend);
TYPE_TO_STRING_AS("postgres", oci2eif::test::PostgresBuildLogStoreBackend);
TYPE_TO_STRING_AS("sqlite", oci2eif::test::SqliteWebhookDedupeBackend);
TYPE_TO_STRING_AS("postgres", oci2eif::test::PostgresWebhookDedupeBackend);
TYPE_TO_STRING_AS("s3", oci2eif::test::S3ArtifactStoreBackend);
TYPE_TO_STRING_AS("s3", oci2eif::test::S3BlobCacheBackend);
TYPE_TO_STRING_AS("s3", oci2eif::test::S3Service);
TYPE_TO_STRING_AS("postgres+s3", oci2eif::test::ScaleOutServices);
