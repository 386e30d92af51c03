#include "server/config.hpp"

#include "core/closest_name.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/json_fields.hpp"
#include "server/config_values.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <type_traits>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, not in a header

namespace oci2eif::server {
namespace {

using namespace config_values;

constexpr std::size_t kMinTokenLength = 16;
constexpr std::uint64_t kMaxParallelDownloads = 16;
constexpr const char* kNitroCliBlobsVariable = "OCI2EIF_NITRO_CLI_BLOBS";

// A flag's value(s) as the text an environment variable would carry; empty when not given.
template <class T> std::vector<std::string> given(const std::optional<T>& v) {
  if (!v) {
    return {};
  }
  if constexpr (std::is_arithmetic_v<T>) {
    return {std::to_string(*v)};
  } else {
    return {std::filesystem::path(*v).string()};
  }
}
template <class T> std::vector<std::string> given(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (const T& item : v) {
    out.push_back(std::filesystem::path(item).string());
  }
  return out;
}

// One setting, described once: its name in each layer and how a value is applied. Exactly one
// of set_count (whole numbers within [min, max]) and set_text is given. A setting with `clear`
// is a list: each layer that gives it replaces the lower layers' list; an environment variable
// carries it comma-separated, a flag repeated, the file as an array of strings unless
// set_file reads another shape.
struct Setting {
  std::string_view file_key{}; // dotted inside an object of the file ("registry.ca_file")
  std::string_view env{};
  std::string_view flag{};
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  void (*set_count)(ServeConfig&, std::uint64_t) = nullptr;
  void (*set_text)(ServeConfig&, const std::string& where, const std::string& text) = nullptr;
  void (*clear)(ServeConfig&) = nullptr;
  void (*set_file)(ServeConfig&, const JsonField& value, const std::string& file) = nullptr;
  std::vector<std::string> (*flag_values)(const ServeFlags&) = nullptr;
};

using Seconds = std::chrono::seconds;

// The table of every setting: defaults are ServeConfig's initializers (workers: the core count).
const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings{
      {.file_key = "listen",
       .env = "OCI2EIF_LISTEN",
       .flag = "--listen",
       .set_text = set_listen,
       .flag_values = [](const ServeFlags& f) { return given(f.listen); }},
      {.file_key = "data_dir",
       .env = "OCI2EIF_DATA_DIR",
       .flag = "--data-dir",
       .set_text = [](ServeConfig& c, const std::string&, const std::string& t) { c.data_dir = t; },
       .flag_values = [](const ServeFlags& f) { return given(f.data_dir); }},
      {.file_key = "kernels",
       .env = "OCI2EIF_KERNEL_DIRS",
       .flag = "--kernel-dir",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& spec) { add_kernel_spec(c, where, spec); },
       .clear = [](ServeConfig& c) { c.kernels.clear(); },
       .set_file = add_kernels_array,
       .flag_values = [](const ServeFlags& f) { return given(f.kernel_dirs); }},
      {.file_key = "workers",
       .env = "OCI2EIF_WORKERS",
       .flag = "--workers",
       .min = 1,
       .max = 256,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.workers = static_cast<unsigned>(n); },
       .flag_values = [](const ServeFlags& f) { return given(f.workers); }},
      {.file_key = "max_queue",
       .env = "OCI2EIF_MAX_QUEUE",
       .min = 1,
       .max = 1'000'000,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_queue = n; }},
      {.file_key = "min_free_mb",
       .env = "OCI2EIF_MIN_FREE_MB",
       .min = 0,
       .max = 1'000'000,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.min_free_bytes = n << 20; }},
      {.file_key = "max_body_bytes",
       .min = 1024,
       .max = 64 << 20,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_body_bytes = n; }},
      {.file_key = "max_kernel_upload_bytes",
       .min = 1024,
       .max = std::uint64_t{1} << 30,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.max_kernel_upload_bytes = n; }},
      {.file_key = "lease_seconds",
       .min = 2,
       .max = 3600,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.lease = Seconds(n); }},
      {.file_key = "build_timeout_seconds",
       .min = 1,
       .max = 7 * 86400,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.build_timeout = Seconds(n); }},
      {.file_key = "shutdown_grace_seconds",
       .env = "OCI2EIF_SHUTDOWN_GRACE_SECONDS",
       .flag = "--shutdown-grace",
       .min = 0,
       .max = 3600,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.shutdown_grace = Seconds(n); },
       .flag_values = [](const ServeFlags& f) { return given(f.shutdown_grace_seconds); }},
      {.file_key = "log_format",
       .env = "OCI2EIF_LOG_FORMAT",
       .flag = "--log-format",
       .set_text = [](ServeConfig& c, const std::string&,
                      const std::string& t) { c.log_format = t; },
       .flag_values = [](const ServeFlags& f) { return given(f.log_format); }},
      {.file_key = "tokens", .set_file = add_tokens_array},
      {.file_key = "token_file",
       .env = "OCI2EIF_TOKEN_FILE",
       .flag = "--token-file",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& t) { read_token_file(c, where, t); },
       .flag_values = [](const ServeFlags& f) { return given(f.token_file); }},
      {.file_key = "registry.insecure",
       .env = "OCI2EIF_INSECURE_REGISTRIES",
       .flag = "--insecure-registry",
       .set_text = add_insecure_registry,
       .clear = [](ServeConfig& c) { c.registry.insecure_registries.clear(); },
       .flag_values = [](const ServeFlags& f) { return given(f.insecure_registries); }},
      {.file_key = "registry.ca_file",
       .env = "OCI2EIF_REGISTRY_CA",
       .flag = "--registry-ca",
       .set_text = [](ServeConfig& c, const std::string&,
                      const std::string& t) { c.registry.extra_ca_file = t; },
       .flag_values = [](const ServeFlags& f) { return given(f.registry_ca); }},
      {.file_key = "registry.mirrors",
       .env = "OCI2EIF_REGISTRY_MIRRORS",
       .flag = "--registry-mirror",
       .set_text = add_mirror,
       .clear = [](ServeConfig& c) { c.registry.mirrors.clear(); },
       .set_file = add_mirrors_object,
       .flag_values = [](const ServeFlags& f) { return given(f.registry_mirrors); }},
      {.file_key = "registry.parallel_downloads",
       .env = "OCI2EIF_PARALLEL_DOWNLOADS",
       .flag = "--parallel-downloads",
       .min = 1,
       .max = kMaxParallelDownloads,
       .set_count = [](ServeConfig& c,
                       std::uint64_t n) { c.registry.parallel_downloads = static_cast<int>(n); },
       .flag_values = [](const ServeFlags& f) { return given(f.parallel_downloads); }},
      {.file_key = "registry.cache_max_bytes",
       .min = 1 << 20,
       .max = std::uint64_t{1} << 50,
       .set_count = [](ServeConfig& c, std::uint64_t n) { c.registry.cache_max_bytes = n; }},
      {.file_key = "local_images",
       .env = "OCI2EIF_LOCAL_IMAGES",
       .flag = "--local-images",
       .set_text = [](ServeConfig& c, const std::string& where,
                      const std::string& dir) { add_local_images(c, where, dir); },
       .clear = [](ServeConfig& c) { c.local_images.clear(); },
       .flag_values = [](const ServeFlags& f) { return given(f.local_images); }},
      {.file_key = "signing_keys", .set_file = add_signing_keys},
      {.file_key = "webhooks",
       .set_file = [](ServeConfig& c, const JsonField& value,
                      const std::string&) { c.webhooks = parse_webhook_config(value); }},
  };
  return kSettings;
}

// OCI2EIF_* variables that are no setting of the table but are read elsewhere, so an
// environment that carries them is no typo.
const std::vector<std::string>& variables_read_elsewhere() {
  static const std::vector<std::string> kNames{
      kNitroCliBlobsVariable, // load_serve_config: where nitro-cli's kernel is looked for
      "OCI2EIF_INIT_DIR",     // pipeline/build_pipeline.cpp: the enclave init to use
      // Set for the test harnesses and scripts (tests/e2e/ports.py, tests/e2e/fixtures.py,
      // scripts/install-deps.sh); daemons those harnesses start inherit them.
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
  for (const Setting& s : settings()) {
    if (s.flag_values == nullptr) {
      continue;
    }
    if (const std::vector<std::string> values = s.flag_values(flags); !values.empty()) {
      apply_texts(c, s, std::string(s.flag), values);
    }
  }
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
    out.push_back({s.file_key, s.env, s.flag});
  }
  return out;
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
  validate(c);
  return c;
}

} // namespace oci2eif::server
