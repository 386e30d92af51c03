#include "server/backends.hpp"

#include "server/aws_credentials.hpp"
#include "server/postgres_database.hpp"
#include "server/postgres_job_store.hpp"
#include "server/s3_blob_store.hpp"
#include "server/s3_client.hpp"
#include "server/shared_kernel_store.hpp"

namespace oci2eif::server {
namespace {

void open_embedded(const ServeConfig& config, Backends& b) {
  const std::string db = (config.data_dir / "jobs.db").string();
  b.jobs = open_sqlite_job_store(db, system_clock());
  b.logs = open_directory_build_log_store(config.data_dir / "logs");
  b.webhook_dedupe = open_sqlite_webhook_dedupe(db, system_clock(), config.webhooks.dedupe_window);
  b.artifacts = open_directory_artifact_store(embedded_artifacts_dir(config.data_dir));
}

void open_scale_out(const ServeConfig& config, Backends& b) {
  b.shared = true;
  b.database = open_postgres_database(config.database);
  S3Options s3;
  s3.location = parse_s3_location(config.object_store);
  s3.endpoint = config.s3_endpoint;
  s3.region = config.s3_region;
  s3.path_style = config.s3_path_style;
  b.object_store = std::make_shared<S3Client>(s3, load_aws_credentials(process_environment()));
  b.jobs = open_postgres_job_store(b.database, system_clock());
  b.logs = open_postgres_build_log_store(b.database);
  b.webhook_dedupe =
      open_postgres_webhook_dedupe(b.database, system_clock(), config.webhooks.dedupe_window);
  b.artifacts = open_s3_artifact_store(b.object_store);
  b.shared_blobs = open_s3_blob_store(b.object_store);
  b.shared_kernels = open_shared_kernel_store(b.database, b.object_store);
}

} // namespace

std::filesystem::path embedded_artifacts_dir(const std::filesystem::path& data_dir) {
  return data_dir / "artifacts";
}

std::vector<Dependency> Backends::dependencies() const {
  std::vector<Dependency> out;
  if (database) {
    out.push_back({"database", [db = database] { return db->check_health(); }});
  }
  if (object_store) {
    out.push_back({"object store", [s3 = object_store] { return s3->check_health(); }});
  }
  return out;
}

Backends open_backends(const ServeConfig& config) {
  Backends b;
  if (config.database.empty()) {
    open_embedded(config, b);
  } else {
    open_scale_out(config, b);
  }
  return b;
}

} // namespace oci2eif::server
