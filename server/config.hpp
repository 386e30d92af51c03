// The daemon's configuration: built-in defaults, overridden by a JSON file, then by OCI2EIF_*
// environment variables, then by flags. Everything is validated before the daemon starts; an
// invalid setting throws InvalidInput naming where it came from (flag, variable or file key)
// and why it is wrong.
//
// JSON file (every key optional, unknown keys rejected):
//   {"listen": "127.0.0.1:8080", "data_dir": "/var/lib/oci2eif",
//    "kernels": [{"name": "cloud", "dir": "/srv/kernels/cloud"}],   first = default
//    "workers": 2, "max_queue": 64, "max_body_bytes": 65536, "lease_seconds": 30,
//    "max_connections": 4096,
//    "min_free_mb": 100,
//    "max_kernel_upload_bytes": 67108864, "max_image_mb": 8192, "max_image_entries": 2000000,
//    "max_build_memory_mb": 2048, "max_eif_mb": 8192,
//    "build_timeout_seconds": 3600, "shutdown_grace_seconds": 30, "log_format": "text" | "json",
//    "tokens": [{"name": "ci", "token": "…", "role": "read" | "build" | "admin"}],
//    "token_file": "/etc/oci2eif/tokens",
//    "registry": {"insecure": ["host:5000"], "ca_file": "/etc/oci2eif/registry-ca.pem",
//                 "mirrors": {"docker.io": ["https://mirror.example"]},
//                 "parallel_downloads": 3, "cache_max_bytes": 10737418240},
//    "local_images": ["/srv/images"],
//    "push_targets": ["registry.example:5000/team/*"],  where `push` may store EIFs
//    "signing_keys": [{"name": "prod", "certificate": "/etc/oci2eif/cert.pem",
//                      "private_key": "/etc/oci2eif/key.pem"}],     requests name one
//    "webhooks": {…},                                  see webhook_config.hpp
//    "database": "postgresql://…", "object_store": "s3://bucket/prefix", …}   scale-out
// Registry credentials come from docker's config.json ($DOCKER_CONFIG, else ~/.docker), as for
// `oci2eif build`. `local_images` is the allow-list for oci-layout:/oci-archive:/docker-archive:
// images in API requests: a build may only read below these directories (none by default, so
// an API caller cannot make the daemon read arbitrary paths).
// Token file: one token a line, `ROLE TOKEN [NAME]`; blank lines and `#` comments ignored.
// Environment and flags: every setting that is one value or a list also has an OCI2EIF_*
// variable (lists comma-separated) and a flag of `oci2eif serve` (lists repeated), named after
// its file key: "max_queue" is OCI2EIF_MAX_QUEUE and --max-queue, except where the table in
// config.cpp says otherwise (kernels: OCI2EIF_KERNEL_DIRS, --kernel-dir; shutdown_grace_seconds:
// --shutdown-grace; registry.*: OCI2EIF_REGISTRY_CA, --registry-ca, …). The structured keys
// (tokens, signing_keys, webhooks) are file-only. Any other OCI2EIF_* variable fails the
// start, naming the closest known one, except those read elsewhere: OCI2EIF_NITRO_CLI_BLOBS
// (default /usr/share/nitro_enclaves/blobs: if it holds a kernel, it is offered as kernel
// `nitro-cli`, the default only when no other kernel is configured), OCI2EIF_INIT_DIR (the
// enclave init) and the test harnesses' OCI2EIF_TEST_PORTS, OCI2EIF_TEST_SERVICES
// (where CTest's throwaway servers describe themselves),
// OCI2EIF_ARM64_PARTS and OCI2EIF_DEPS_MINIMAL.
// Scale-out keys: "database": "postgresql://…", "object_store": "s3://BUCKET/PREFIX",
// "s3_endpoint", "s3_region", "s3_path_style": true, "replica_id". S3 credentials come only from
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN] or the AWS shared credentials file.
//
// Each setting is described once, in the table `settings()` in config.cpp: its file key,
// variable, flag, bounds and parser; the file, environment and flag layers walk that table.
// serve_setting_names() lists its rows.
#pragma once

#include "core/layer_flattener.hpp"
#include "pipeline/build_pipeline.hpp"
#include "registry/registry_source.hpp"
#include "server/webhook_config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oci2eif::server {

// Ordered: admin can do what build can, build what read can.
enum class Role { Read = 1, Build = 2, Admin = 3 };
std::string_view role_name(Role role);

struct ApiToken {
  std::string name; // for logs; the token itself is never logged
  std::string token;
  Role role = Role::Read;
};

struct KernelDir {
  std::string name;
  std::filesystem::path dir;
};

// A key builds may be signed with (PCR8): requests name it, the files stay on the server.
struct SigningKeyFiles {
  std::string name;
  std::filesystem::path certificate; // PEM
  std::filesystem::path private_key; // PEM EC key of that certificate, or a pkcs11: URI
};

struct ServeConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::filesystem::path data_dir = "/var/lib/oci2eif";
  std::vector<KernelDir> kernels; // the first is the default
  unsigned workers = 1;           // default: the number of cores
  std::size_t max_queue = 64;
  // Below this much free space in data_dir the service takes no new work (disk_space.hpp).
  std::uint64_t min_free_bytes = std::uint64_t{100} << 20;
  std::size_t max_body_bytes = 64 * 1024;
  // HTTP connections served at once (api/connection_threads.hpp); more wait for one to end.
  std::size_t max_connections = 4096;
  // GET /metrics needs a token of any role (read, build, admin); off: open, as the probes.
  bool metrics_require_token = false;
  std::size_t max_kernel_upload_bytes = 64 << 20; // POST /v1/kernels (multipart)
  // What one image may unpack to (max_image_mb, max_image_entries) and the memory its file list
  // may take (max_build_memory_mb): beyond it, limit_exceeded.
  FlattenLimits image_limits;
  std::uint64_t max_eif_bytes = pipeline::kDefaultMaxEifBytes; // max_eif_mb
  std::chrono::seconds lease{30};
  std::chrono::seconds build_timeout{3600};
  // SIGTERM: how long running builds may go on before they are stopped and re-queued.
  std::chrono::seconds shutdown_grace{30};
  std::string log_format = "text";
  std::vector<ApiToken> tokens;
  // Template for every registry pull (insecure hosts, CA, mirrors, parallelism, cache bound);
  // the daemon sets the cache directory and the per-build log.
  registry::RegistryOptions registry;
  std::vector<std::filesystem::path> local_images; // canonical, absolute
  std::vector<std::string> push_targets;           // push_targets.hpp
  std::vector<SigningKeyFiles> signing_keys;
  WebhookConfig webhooks;

  // Scale-out (docs/scale-out.md). Empty database: SQLite in data_dir; else a postgresql:// URL
  // (it may carry a password: never log it, see redacted_database_url()).
  std::string database;
  // Empty: artifacts and the layer cache in data_dir only; else s3://BUCKET[/PREFIX].
  std::string object_store;
  std::string s3_endpoint; // http(s)://HOST[:PORT]; empty: AWS's regional endpoint
  std::string s3_region = "us-east-1";
  bool s3_path_style = false; // https://endpoint/bucket/key instead of https://bucket.endpoint/key
  // Recorded on each lease (the build's worker id starts with it); default hostname-pid.
  std::string replica_id;
};

// The database URL with any password replaced by "***" (for logs and errors).
std::string redacted_database_url(const std::string& url);

// The flags of `oci2eif serve`: --config, and every setting's flag by name ("--workers") with
// the values given (a list flag may be repeated; a switch such as --s3-path-style carries
// "true"). main.cpp registers one option per row of serve_setting_names().
struct ServeFlags {
  std::optional<std::filesystem::path> config;
  std::map<std::string, std::vector<std::string>> values;
};

using Environment = std::map<std::string, std::string>;
// The process environment's OCI2EIF_* variables.
Environment oci2eif_environment();

// The names a setting goes by in each layer ("" where a layer does not offer it); file keys
// inside an object are dotted ("registry.ca_file").
struct SettingNames {
  std::string_view file_key;
  std::string_view env;
  std::string_view flag;
  std::string_view help;  // the flag's one-line description
  bool list = false;      // the flag may be repeated
  bool is_switch = false; // the flag takes no value
};
// Every row of the settings table, in its order (for documentation and tests).
std::vector<SettingNames> serve_setting_names();

// Defaults ← file (flags.config) ← environment ← flags; then validated. An OCI2EIF_* variable
// that is neither a setting nor read elsewhere fails, naming the closest known one.
ServeConfig load_serve_config(const ServeFlags& flags, const Environment& env);

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

} // namespace oci2eif::server
