#include "server/config.hpp"

#include "core/closest_name.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/json_fields.hpp"
#include "server/config_values.hpp"
#include "server/push_targets.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unistd.h>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, not in a header

namespace oci2eif::server {
namespace {

using namespace config_values;

constexpr std::size_t kMinTokenLength = 16;
constexpr std::uint64_t kMaxParallelDownloads = 16;
constexpr const char* kNitroCliBlobsVariable = "OCI2EIF_NITRO_CLI_BLOBS";

// One setting, described once: its name in each layer, its flag's help and how a value is
// applied. Exactly one of set_count (whole numbers within [min, max]) and set_text is given,
// except for file-only settings, which have set_file alone. A setting with `clear` is a list:
// each layer that gives it replaces the lower layers' list; an environment variable carries it
// comma-separated, a flag repeated, the file as an array of strings unless set_file reads
// another shape. A switch's flag takes no value (it carries "true").
struct Setting {
  std::string_view file_key{}; // dotted inside an object of the file ("registry.ca_file")
  std::string_view env{};
  std::string_view flag{};
  std::string_view help{};
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  void (*set_count)(ServeConfig&, std::uint64_t) = nullptr;
  void (*set_text)(ServeConfig&, const std::string& where, const std::string& text) = nullptr;
  void (*clear)(ServeConfig&) = nullptr;
  void (*set_file)(ServeConfig&, const JsonField& value, const std::string& file) = nullptr;
  bool is_switch = false;
};

using Seconds = std::chrono::seconds;

// The rows of the daemon's own work: where it listens, keeps data and how much it takes on.
std::vector<Setting> service_settings() {
  return {
      {.file_key = "listen",
       .env = "OCI2EIF_LISTEN",
       .flag = "--listen",
       .help = "HOST:PORT to listen on (default 127.0.0.1:8080)",
       .set_text = set_listen},
      {.file_key = "data_dir",
       .env = "OCI2EIF_DATA_DIR",
       .flag = "--data-dir",
       .help = "Database, artifacts, logs, scratch space and the layer cache",
       .set_text = [](ServeConfig& c, const std::string&,
                      const std::string& t) { c.data_dir = t; }},
      {.file_key = "kernels",
       .env = "OCI2EIF_KERNEL_DIRS",
       .flag = "--kernel-dir",
       .help = "NAME=DIR kernel bundle (repeatable; the first is the default)",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& spec) { add_kernel_spec(c, where, spec); },
       .clear = [](ServeConfig& c) { c.kernels.clear(); },
       .set_file = add_kernels_array},
      {.file_key = "workers",
       .env = "OCI2EIF_WORKERS",
       .flag = "--workers",
       .help = "Concurrent builds (default: number of cores)",
       .min = 1,
       .max = 256,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.workers = static_cast<unsigned>(n); }},
      {.file_key = "shutdown_grace_seconds",
       .env = "OCI2EIF_SHUTDOWN_GRACE_SECONDS",
       .flag = "--shutdown-grace",
       .help = "SECONDS running builds may go on after SIGTERM before they are re-queued "
               "(default 30)",
       .min = 0,
       .max = 3600,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.shutdown_grace = Seconds(n); }},
      {.file_key = "log_format",
       .env = "OCI2EIF_LOG_FORMAT",
       .flag = "--log-format",
       .help = "text, or json: one JSON object a line with time, level, message and the build id",
       .set_text = [](ServeConfig& c, const std::string&,
                      const std::string& t) { c.log_format = t; }},
  };
}

// The rows that bound what the daemon takes on and how long it waits.
std::vector<Setting> limit_settings() {
  return {
      {.file_key = "max_queue",
       .env = "OCI2EIF_MAX_QUEUE",
       .flag = "--max-queue",
       .help = "Queued builds beyond which POST answers 429 (default 64)",
       .min = 1,
       .max = 1'000'000,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_queue = n; }},
      {.file_key = "min_free_mb",
       .env = "OCI2EIF_MIN_FREE_MB",
       .flag = "--min-free-mb",
       .help = "Free MiB in the data directory below which no new work is taken (default 100)",
       .min = 0,
       .max = 1'000'000,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.min_free_bytes = n << 20; }},
      {.file_key = "max_body_bytes",
       .env = "OCI2EIF_MAX_BODY_BYTES",
       .flag = "--max-body-bytes",
       .help = "Largest JSON request body (default 65536)",
       .min = 1024,
       .max = 64 << 20,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_body_bytes = n; }},
      {.file_key = "max_kernel_upload_bytes",
       .env = "OCI2EIF_MAX_KERNEL_UPLOAD_BYTES",
       .flag = "--max-kernel-upload-bytes",
       .help = "Largest POST /v1/kernels upload (default 64 MiB)",
       .min = 1024,
       .max = std::uint64_t{1} << 30,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_kernel_upload_bytes = n; }},
      {.file_key = "lease_seconds",
       .env = "OCI2EIF_LEASE_SECONDS",
       .flag = "--lease-seconds",
       .help = "A worker's lease on its build, renewed every third of it (default 30)",
       .min = 2,
       .max = 3600,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.lease = Seconds(n); }},
      {.file_key = "build_timeout_seconds",
       .env = "OCI2EIF_BUILD_TIMEOUT_SECONDS",
       .flag = "--build-timeout-seconds",
       .help = "A build running longer fails with timeout (default 3600)",
       .min = 1,
       .max = 7 * 86400,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.build_timeout = Seconds(n); }},
  };
}

// The rows of who may call the API and what builds may use.
// The rows that bound what one image may unpack to (core/layer_flattener.hpp, FlattenLimits).
std::vector<Setting> image_limit_settings() {
  return {
      {.file_key = "max_image_mb",
       .env = "OCI2EIF_MAX_IMAGE_MB",
       .flag = "--max-image-mb",
       .help = "MiB of files one image may unpack to, over all its layers; beyond it the build "
               "fails with limit_exceeded (default 8192)",
       .min = 1,
       .max = std::uint64_t{1} << 24,
       .set_count = [](ServeConfig& c,
                       std::uint64_t n) { c.image_limits.max_total_bytes = n << 20; }},
      {.file_key = "max_image_entries",
       .env = "OCI2EIF_MAX_IMAGE_ENTRIES",
       .flag = "--max-image-entries",
       .help = "Tar entries one image may hold, over all its layers (default 2000000)",
       .min = 1,
       .max = std::uint64_t{1} << 32,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.image_limits.max_entries = n; }},
      {.file_key = "max_eif_mb",
       .env = "OCI2EIF_MAX_EIF_MB",
       .flag = "--max-eif-mb",
       .help = "MiB the EIF's kernel and ramdisks may add up to; beyond it the build fails with "
               "limit_exceeded while the ramdisks are written (default 8192)",
       .min = 1,
       .max = std::uint64_t{1} << 24,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_eif_bytes = n << 20; }},
      {.file_key = "max_build_memory_mb",
       .env = "OCI2EIF_MAX_BUILD_MEMORY_MB",
       .flag = "--max-build-memory-mb",
       .help = "MiB of memory one build's file list may take (names, links, nodes: what grows "
               "with an image's entries); beyond it the build fails with limit_exceeded "
               "(default 2048)",
       .min = 1,
       .max = std::uint64_t{1} << 24,
       .set_count = [](ServeConfig& c,
                       std::uint64_t n) { c.image_limits.max_file_list_bytes = n << 20; }},
  };
}

std::vector<Setting> access_settings() {
  return {
      {.file_key = "tokens", .set_file = add_tokens_array},
      {.file_key = "token_file",
       .env = "OCI2EIF_TOKEN_FILE",
       .flag = "--token-file",
       .help = "API tokens, one `ROLE TOKEN [NAME]` a line",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& t) { read_token_file(c, where, t); }},
      {.file_key = "local_images",
       .env = "OCI2EIF_LOCAL_IMAGES",
       .flag = "--local-images",
       .help = "DIR below which API requests may name oci-layout:/oci-archive:/docker-archive: "
               "images (repeatable; default: none)",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& dir) { add_local_images(c, where, dir); },
       .clear = [](ServeConfig& c) { c.local_images.clear(); }},
      {.file_key = "push_targets",
       .env = "OCI2EIF_PUSH_TARGETS",
       .flag = "--push-target",
       .help = "HOST[:PORT]/REPOSITORY glob that builds may push EIFs to (repeatable; default: "
               "none)",
       .set_text =
           [](ServeConfig& c, const std::string& where, const std::string& pattern) {
             check_push_target_pattern(where, pattern);
             c.push_targets.push_back(pattern);
           },
       .clear = [](ServeConfig& c) { c.push_targets.clear(); }},
      {.file_key = "max_connections",
       .env = "OCI2EIF_MAX_CONNECTIONS",
       .flag = "--max-connections",
       .help = "HTTP connections served at once, one thread each; more wait (default 4096)",
       .min = 16,
       .max = 65536,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_connections = n; }},
      {.file_key = "metrics_require_token",
       .env = "OCI2EIF_METRICS_REQUIRE_TOKEN",
       .flag = "--metrics-require-token",
       .help = "GET /metrics needs an API token (any role), as /v1 does; default: open",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& t) { c.metrics_require_token = parse_switch(where, t); },
       .set_file = [](ServeConfig& c, const JsonField& v,
                      const std::string&) { c.metrics_require_token = v.boolean(); },
       .is_switch = true},
      {.file_key = "signing_keys", .set_file = add_signing_keys},
      {.file_key = "webhooks",
       .set_file = [](ServeConfig& c, const JsonField& value,
                      const std::string&) { c.webhooks = parse_webhook_config(value); }},
  };
}

// The rows of how images are pulled.
std::vector<Setting> registry_settings() {
  return {
      {.file_key = "registry.insecure",
       .env = "OCI2EIF_INSECURE_REGISTRIES",
       .flag = "--insecure-registry",
       .help = "Registry HOST[:PORT] that may be reached over plain HTTP (repeatable)",
       .set_text = add_insecure_registry,
       .clear = [](ServeConfig& c) { c.registry.insecure_registries.clear(); }},
      {.file_key = "registry.ca_file",
       .env = "OCI2EIF_REGISTRY_CA",
       .flag = "--registry-ca",
       .help = "PEM CA file trusted for registries (besides /etc/docker/certs.d)",
       .set_text = [](ServeConfig& c, const std::string&,
                      const std::string& t) { c.registry.extra_ca_file = t; }},
      {.file_key = "registry.mirrors",
       .env = "OCI2EIF_REGISTRY_MIRRORS",
       .flag = "--registry-mirror",
       .help = "DOMAIN=URL: pull DOMAIN's images through this mirror first (repeatable)",
       .set_text = add_mirror,
       .clear = [](ServeConfig& c) { c.registry.mirrors.clear(); },
       .set_file = add_mirrors_object},
      {.file_key = "registry.parallel_downloads",
       .env = "OCI2EIF_PARALLEL_DOWNLOADS",
       .flag = "--parallel-downloads",
       .help = "Layers one build downloads at once (default 3)",
       .min = 1,
       .max = kMaxParallelDownloads,
       .set_count = [](ServeConfig& c,
                       std::uint64_t n) { c.registry.parallel_downloads = static_cast<int>(n); }},
      {.file_key = "registry.cache_max_bytes",
       .env = "OCI2EIF_CACHE_MAX_BYTES",
       .flag = "--cache-max-bytes",
       .help = "Bound on the local layer cache; least recently used layers go first",
       .min = 1 << 20,
       .max = std::uint64_t{1} << 50,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.registry.cache_max_bytes = n; }},
  };
}

// The rows that make replicas share a database and an object store (docs/scale-out.md).
std::vector<Setting> scale_out_settings() {
  return {
      {.file_key = "database",
       .env = "OCI2EIF_DATABASE",
       .flag = "--database",
       .help = "postgresql://USER@HOST:PORT/DB: the shared job store (default: SQLite in the "
               "data directory)",
       .set_text = set_database},
      {.file_key = "object_store",
       .env = "OCI2EIF_OBJECT_STORE",
       .flag = "--object-store",
       .help = "s3://BUCKET[/PREFIX]: artifacts and the shared layer cache (default: the data "
               "directory); credentials from AWS_* variables or ~/.aws/credentials",
       .set_text = set_object_store},
      {.file_key = "s3_endpoint",
       .env = "OCI2EIF_S3_ENDPOINT",
       .flag = "--s3-endpoint",
       .help = "http(s)://HOST[:PORT] of the S3 API (default: AWS's endpoint for the region)",
       .set_text = set_s3_endpoint},
      {.file_key = "s3_region",
       .env = "OCI2EIF_S3_REGION",
       .flag = "--s3-region",
       .help = "The bucket's region, used in request signatures (default us-east-1)",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& t) { c.s3_region = non_empty(where, t); }},
      {.file_key = "s3_path_style",
       .env = "OCI2EIF_S3_PATH_STYLE",
       .flag = "--s3-path-style",
       .help = "Address the bucket as ENDPOINT/BUCKET/KEY rather than BUCKET.ENDPOINT/KEY",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& t) { c.s3_path_style = parse_switch(where, t); },
       .set_file = [](ServeConfig& c, const JsonField& v,
                      const std::string&) { c.s3_path_style = v.boolean(); },
       .is_switch = true},
      {.file_key = "replica_id",
       .env = "OCI2EIF_REPLICA_ID",
       .flag = "--replica-id",
       .help = "This replica's name on leases and build records (default HOSTNAME-PID)",
       .set_text = set_replica_id},
  };
}

// The table of every setting: defaults are ServeConfig's initializers (workers: the core count).
const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = [] {
    std::vector<Setting> all;
    for (auto part : {service_settings, limit_settings, image_limit_settings, access_settings,
                      registry_settings, scale_out_settings}) {
      for (Setting& s : part()) {
        all.push_back(s);
      }
    }
    return all;
  }();
  return kSettings;
}

// OCI2EIF_* variables that are no setting of the table but are read elsewhere, so an
// environment that carries them is no typo.
const std::vector<std::string>& variables_read_elsewhere() {
  static const std::vector<std::string> kNames{
      kNitroCliBlobsVariable, // load_serve_config: where nitro-cli's kernel is looked for
      "OCI2EIF_INIT_DIR",     // pipeline/build_pipeline.cpp: the enclave init to use
      // Set for the test harnesses and scripts (tests/e2e/ports.py, tests/e2e/fixtures.py,
      // scripts/install-deps.sh, the CTest service fixtures of tests/services/); daemons those
      // harnesses start inherit them.
      "OCI2EIF_TEST_PORTS", "OCI2EIF_TEST_SERVICES", "OCI2EIF_ARM64_PARTS", "OCI2EIF_DEPS_MINIMAL"};
  return kNames;
}

void validate(const ServeConfig& c) {
  if (c.log_format != "text" && c.log_format != "json") {
    invalid("log_format", "'" + c.log_format + "' is not text or json");
  }
  for (const ApiToken& t : c.tokens) {
    if (t.token.size() < kMinTokenLength) {
      invalid("token '" + t.name + "'",
              "shorter than " + std::to_string(kMinTokenLength) + " characters");
    }
  }
  if (c.tokens.empty() && !is_loopback_host(c.listen_host)) {
    invalid("listen", "'" + c.listen_host +
                          "' is not a loopback address and no API tokens are configured; "
                          "configure tokens (token_file or tokens) or listen on 127.0.0.1");
  }
  for (const KernelDir& k : c.kernels) {
    if (!std::filesystem::is_directory(k.dir)) {
      invalid("kernel '" + k.name + "'", k.dir.string() + " is not a directory");
    }
    if (!std::filesystem::is_regular_file(k.dir / "bzImage") &&
        !std::filesystem::is_regular_file(k.dir / "Image")) {
      invalid("kernel '" + k.name + "'",
              k.dir.string() + " has neither bzImage (x86_64) nor Image (aarch64)");
    }
  }
  if (c.data_dir.empty()) {
    invalid("data_dir", "must not be empty");
  }
  if (c.database.empty() != c.object_store.empty()) {
    // Replicas share builds only through both: a build claimed anywhere needs its kernel and
    // its artifacts readable everywhere.
    invalid(c.database.empty() ? "object_store" : "database",
            "scale-out needs both database (postgresql://…) and object_store (s3://…); "
            "give both, or neither for the embedded SQLite and data directory");
  }
  if (c.object_store.empty() && (!c.s3_endpoint.empty() || c.s3_path_style)) {
    invalid("s3_endpoint", "S3 settings are given but object_store (s3://BUCKET) is not");
  }
  if (!c.registry.extra_ca_file.empty() &&
      !std::filesystem::is_regular_file(c.registry.extra_ca_file)) {
    invalid("registry.ca_file", "'" + c.registry.extra_ca_file + "' is not a readable file");
  }
}

// The keys the file may hold at `prefix` ("" or "registry."), in the table's order.
std::vector<std::string> file_keys_at(const std::string& prefix) {
  std::vector<std::string> keys;
  for (const Setting& s : settings()) {
    if (!s.file_key.starts_with(prefix)) {
      continue;
    }
    const std::string_view rest = s.file_key.substr(prefix.size());
    const std::string key(rest.substr(0, rest.find('.')));
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      keys.push_back(key);
    }
  }
  return keys;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

// "unknown <what>; did you mean <closest>?", or the known names when none is close.
[[noreturn]] void unknown(const std::string& where, const std::string& what,
                          const std::string& given, const std::vector<std::string>& known) {
  const std::optional<std::string> closest = closest_name(given, known);
  invalid(where, "unknown " + what + (closest ? "; did you mean " + *closest + "?" : "") +
                     " (known: " + joined(known) + ")");
}

// Applies texts from the environment or flags: counts are checked against the bounds; a list
// given here replaces the lower layers' list.
void apply_texts(ServeConfig& c, const Setting& s, const std::string& where,
                 const std::vector<std::string>& texts) {
  if (s.clear != nullptr) {
    s.clear(c);
  }
  for (const std::string& text : texts) {
    if (s.set_count != nullptr) {
      s.set_count(c, parse_count(where, text, s.min, s.max));
    } else {
      s.set_text(c, where, text);
    }
  }
}

void apply_file_value(ServeConfig& c, const Setting& s, const JsonField& value,
                      const std::string& file) {
  const std::string where = file + ": " + value.path();
  if (s.set_file != nullptr) {
    s.set_file(c, value, file);
  } else if (s.set_count != nullptr) {
    s.set_count(c, value.whole_number(s.min, s.max));
  } else if (s.clear != nullptr) {
    for (const std::string& item : value.strings()) {
      s.set_text(c, where, item);
    }
  } else {
    s.set_text(c, where, value.string());
  }
}

// The members of `object` (the file's top level, or a section such as "registry").
void apply_file_object(ServeConfig& c, const JsonField& object, const std::string& prefix,
                       const std::string& file) {
  for (const auto& [key, value] : object.members()) {
    const std::string name = prefix + key;
    const auto& table = settings();
    const auto row = std::find_if(table.begin(), table.end(),
                                  [&](const Setting& s) { return s.file_key == name; });
    if (row != table.end()) {
      apply_file_value(c, *row, value, file);
    } else if (!file_keys_at(name + ".").empty()) {
      apply_file_object(c, value, name + ".", file);
    } else {
      unknown(file + ": " + value.path(), "key", key, file_keys_at(prefix));
    }
  }
}

void apply_file(ServeConfig& c, const std::filesystem::path& path) {
  const Bytes bytes = read_small_file(path, kMaxConfigFile);
  const JsonDocument doc(as_chars(bytes), "configuration: " + path.string(),
                         ErrorCode::InvalidInput);
  apply_file_object(c, doc.root(), "", path.string());
}

void apply_env(ServeConfig& c, const Environment& env) {
  std::vector<std::string> known;
  for (const Setting& s : settings()) {
    if (!s.env.empty()) {
      known.emplace_back(s.env);
    }
  }
  const auto& elsewhere = variables_read_elsewhere();
  for (const auto& [name, value] : env) {
    if (std::find(known.begin(), known.end(), name) == known.end() &&
        std::find(elsewhere.begin(), elsewhere.end(), name) == elsewhere.end()) {
      unknown(name, "environment variable", name, known);
    }
  }
  for (const Setting& s : settings()) {
    if (const auto it = env.find(std::string(s.env)); !s.env.empty() && it != env.end()) {
      apply_texts(c, s, it->first,
                  s.clear != nullptr ? comma_list(it->second) : std::vector{it->second});
    }
  }
}

void apply_flags(ServeConfig& c, const ServeFlags& flags) {
  for (const auto& entry : flags.values) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const auto& flag = entry.first;
    const auto& values = entry.second;
    const auto& table = settings();
    const auto row =
        std::find_if(table.begin(), table.end(), [&](const Setting& s) { return s.flag == flag; });
    if (row == table.end()) {
      invalid(flag, "is no flag of oci2eif serve");
    }
    apply_texts(c, *row, flag, values);
  }
}

// HOSTNAME-PID, with any character a replica id may not hold replaced by '-': unique among
// replicas on distinct hosts (Kubernetes pods) and among processes on one host.
std::string default_replica_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::strcpy(host, "host");
  }
  std::string id = host;
  for (char& ch : id) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') {
      ch = '-';
    }
  }
  const std::string pid = "-" + std::to_string(::getpid());
  return id.substr(0, 63 - pid.size()) + pid;
}

// Offers the kernel in nitro-cli's blobs directory as "nitro-cli" unless one is named so.
void add_nitro_cli_kernel(ServeConfig& c, const Environment& env) {
  const auto it = env.find(kNitroCliBlobsVariable);
  const std::filesystem::path blobs =
      it != env.end() ? std::filesystem::path(it->second) : "/usr/share/nitro_enclaves/blobs";
  const bool named = std::any_of(c.kernels.begin(), c.kernels.end(),
                                 [](const KernelDir& k) { return k.name == "nitro-cli"; });
  if (!named && (std::filesystem::is_regular_file(blobs / "bzImage") ||
                 std::filesystem::is_regular_file(blobs / "Image"))) {
    c.kernels.push_back({"nitro-cli", blobs});
  }
}

} // namespace

std::string_view role_name(Role role) {
  switch (role) {
  case Role::Read:
    return "read";
  case Role::Build:
    return "build";
  case Role::Admin:
    return "admin";
  }
  return "unknown";
}

Environment oci2eif_environment() {
  Environment env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (kv.rfind("OCI2EIF_", 0) == 0 && eq != std::string::npos) {
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return env;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::vector<SettingNames> serve_setting_names() {
  std::vector<SettingNames> out;
  for (const Setting& s : settings()) {
    out.push_back({s.file_key, s.env, s.flag, s.help, s.clear != nullptr, s.is_switch});
  }
  return out;
}

std::string redacted_database_url(const std::string& url) {
  // scheme://user:password@host…: the password is what lies between the first ':' after the
  // scheme and the last '@' before the path.
  const auto start = url.find("://");
  if (start == std::string::npos) {
    return url;
  }
  const auto path = url.find('/', start + 3);
  const auto at = url.rfind('@', path);
  if (at == std::string::npos || at < start) {
    return url;
  }
  const auto colon = url.find(':', start + 3);
  if (colon == std::string::npos || colon > at) {
    return url;
  }
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

ServeConfig load_serve_config(const ServeFlags& flags, const Environment& env) {
  ServeConfig c;
  c.workers = std::max(1u, std::thread::hardware_concurrency());
  if (flags.config) {
    apply_file(c, *flags.config);
  }
  apply_env(c, env);
  apply_flags(c, flags);
  add_nitro_cli_kernel(c, env);
  if (c.replica_id.empty()) {
    c.replica_id = default_replica_id();
  }
  validate(c);
  return c;
}

} // namespace oci2eif::server
