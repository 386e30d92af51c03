#include "server/config.hpp"

#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/json_fields.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, not in a header

namespace oci2eif::server {
namespace {

constexpr std::size_t kMaxConfigFile = 1 << 20;
constexpr std::size_t kMinTokenLength = 16;
constexpr std::uint64_t kMaxParallelDownloads = 16;

[[noreturn]] void invalid(const std::string& where, const std::string& why) {
  throw Error(ErrorCode::InvalidInput, "configuration: " + where + ": " + why);
}

std::uint64_t parse_count(const std::string& where, const std::string& text, std::uint64_t min,
                          std::uint64_t max) {
  std::uint64_t v = 0;
  const bool digits =
      !text.empty() && text.size() <= 19 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    v = std::stoull(text);
  }
  if (!digits || v < min || v > max) {
    invalid(where, "'" + text + "' is not a whole number from " + std::to_string(min) + " to " +
                       std::to_string(max));
  }
  return v;
}

void set_listen(ServeConfig& c, const std::string& where, const std::string& text) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') { // [::1]:8080
    const auto close = text.find("]:");
    if (close == std::string::npos) {
      invalid(where, "'" + text + "' is not [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      invalid(where, "'" + text + "' is not HOST:PORT (write IPv6 addresses as [ADDR]:PORT)");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    invalid(where, "'" + text + "' has no host; use 127.0.0.1 or an address to bind");
  }
  c.listen_host = host;
  c.listen_port = static_cast<std::uint16_t>(parse_count(where + " port", port, 1, 65535));
}

Role parse_role(const std::string& where, const std::string& text) {
  if (text == "read") {
    return Role::Read;
  }
  if (text == "build") {
    return Role::Build;
  }
  if (text == "admin") {
    return Role::Admin;
  }
  invalid(where, "role '" + text + "' is not read, build or admin");
}

bool is_catalog_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

void add_kernel(std::vector<KernelDir>& out, const std::string& where, const std::string& name,
                const std::filesystem::path& dir) {
  if (!is_catalog_name(name)) {
    invalid(where, "kernel name '" + name + "' must be 1-64 of [A-Za-z0-9._-]");
  }
  if (std::any_of(out.begin(), out.end(), [&](const KernelDir& k) { return k.name == name; })) {
    invalid(where, "kernel name '" + name + "' is given twice");
  }
  out.push_back({name, dir});
}

void add_kernel_spec(std::vector<KernelDir>& out, const std::string& where,
                     const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq + 1 == spec.size()) {
    invalid(where, "'" + spec + "' is not NAME=DIR");
  }
  add_kernel(out, where, spec.substr(0, eq), spec.substr(eq + 1));
}

void read_token_file(ServeConfig& c, const std::string& where, const std::filesystem::path& p) {
  const Bytes bytes = read_small_file(p, kMaxConfigFile);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::istringstream words(line);
    std::string role, token, name;
    words >> role >> token >> name;
    if (role.empty() || role.front() == '#') {
      continue;
    }
    const std::string at = where + " " + p.string() + " line " + std::to_string(n);
    if (token.empty()) {
      invalid(at, "expected ROLE TOKEN [NAME]");
    }
    c.tokens.push_back(
        {name.empty() ? "token-line-" + std::to_string(n) : name, token, parse_role(at, role)});
  }
}

std::string string_at(const nlohmann::json& j, const std::string& where) {
  if (!j.is_string()) {
    invalid(where, "expected a string, found " + std::string(j.type_name()));
  }
  return j.get<std::string>();
}

std::uint64_t count_at(const nlohmann::json& j, const std::string& where, std::uint64_t min,
                       std::uint64_t max) {
  if (!j.is_number_unsigned()) {
    invalid(where, "expected a whole number, found " + j.dump());
  }
  return parse_count(where, std::to_string(j.get<std::uint64_t>()), min, max);
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    out.push_back(item);
  }
  return out;
}

std::vector<std::string> string_array_at(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) {
    invalid(where, "expected an array of strings, found " + std::string(j.type_name()));
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    out.push_back(string_at(j[i], where + "[" + std::to_string(i) + "]"));
  }
  return out;
}

void add_insecure_registry(ServeConfig& c, const std::string& where, const std::string& host) {
  if (host.empty() || host.find("://") != std::string::npos ||
      host.find_first_of("/ ") != std::string::npos) {
    invalid(where, "'" + host + "' is not HOST[:PORT] (no scheme, no path)");
  }
  c.registry.insecure_registries.push_back(host);
}

void add_mirror(ServeConfig& c, const std::string& where, const std::string& spec) {
  try {
    c.registry.mirrors.push_back(registry::parse_mirror(spec));
  } catch (const Error& e) {
    invalid(where, e.what());
  }
}

void set_parallel_downloads(ServeConfig& c, const std::string& where, std::uint64_t n) {
  c.registry.parallel_downloads =
      static_cast<int>(parse_count(where, std::to_string(n), 1, kMaxParallelDownloads));
}

void add_local_images(ServeConfig& c, const std::string& where, const std::filesystem::path& dir) {
  if (!dir.is_absolute()) {
    invalid(where, "'" + dir.string() + "' is not an absolute path");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    invalid(where, "'" + dir.string() + "' is not a directory");
  }
  // Canonical, so the prefix test at request time compares resolved paths with resolved paths.
  c.local_images.push_back(std::filesystem::canonical(dir));
}

// "registry": {"insecure": […], "ca_file": "…", "mirrors": {DOMAIN: [URL, …]},
//              "parallel_downloads": N, "cache_max_bytes": N}
void apply_registry_object(ServeConfig& c, const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) {
    invalid(where, "expected an object");
  }
  for (const auto& [key, value] : j.items()) {
    const std::string at = where + "." + key;
    if (key == "insecure") {
      for (const std::string& host : string_array_at(value, at)) {
        add_insecure_registry(c, at, host);
      }
    } else if (key == "ca_file") {
      c.registry.extra_ca_file = string_at(value, at);
    } else if (key == "mirrors" && value.is_object()) {
      for (const auto& [domain, urls] : value.items()) {
        for (const std::string& url : string_array_at(urls, at + "." + domain)) {
          add_mirror(c, at + "." + domain, domain + "=" + url);
        }
      }
    } else if (key == "parallel_downloads") {
      set_parallel_downloads(c, at, count_at(value, at, 1, kMaxParallelDownloads));
    } else if (key == "cache_max_bytes") {
      c.registry.cache_max_bytes = count_at(value, at, 1 << 20, std::uint64_t{1} << 50);
    } else if (key == "mirrors") {
      invalid(at, "expected an object {\"DOMAIN\": [\"URL\", …]}");
    } else {
      invalid(at, "unknown key (known: insecure, ca_file, mirrors, parallel_downloads, "
                  "cache_max_bytes)");
    }
  }
}

// "signing_keys": [{"name": …, "certificate": FILE, "private_key": FILE}]; the files are
// loaded (and the pair checked) when the daemon starts.
void apply_signing_keys(ServeConfig& c, const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) {
    invalid(where, "expected an array");
  }
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const auto& k = j[i];
    if (!k.is_object() || k.size() != 3 || !k.contains("name") || !k.contains("certificate") ||
        !k.contains("private_key")) {
      invalid(at, "expected {\"name\": …, \"certificate\": …, \"private_key\": …}");
    }
    SigningKeyFiles key{string_at(k["name"], at + ".name"),
                        string_at(k["certificate"], at + ".certificate"),
                        string_at(k["private_key"], at + ".private_key")};
    if (!is_catalog_name(key.name)) {
      invalid(at + ".name", "'" + key.name + "' must be 1-64 of [A-Za-z0-9._-]");
    }
    for (const SigningKeyFiles& other : c.signing_keys) {
      if (other.name == key.name) {
        invalid(at + ".name", "'" + key.name + "' is given twice");
      }
    }
    c.signing_keys.push_back(key);
  }
}

void apply_file(ServeConfig& c, const std::filesystem::path& path) {
  const Bytes bytes = read_small_file(path, kMaxConfigFile);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::parse_error& e) {
    invalid(path.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) {
    invalid(path.string(), "expected a JSON object at the top level");
  }
  for (const auto& [key, value] : j.items()) {
    const std::string where = path.string() + ": " + key;
    if (key == "listen") {
      set_listen(c, where, string_at(value, where));
    } else if (key == "data_dir") {
      c.data_dir = string_at(value, where);
    } else if (key == "workers") {
      c.workers = static_cast<unsigned>(count_at(value, where, 1, 256));
    } else if (key == "max_queue") {
      c.max_queue = count_at(value, where, 1, 1'000'000);
    } else if (key == "min_free_mb") {
      c.min_free_bytes = count_at(value, where, 0, 1'000'000) << 20;
    } else if (key == "max_body_bytes") {
      c.max_body_bytes = count_at(value, where, 1024, 64 << 20);
    } else if (key == "max_kernel_upload_bytes") {
      c.max_kernel_upload_bytes = count_at(value, where, 1024, std::uint64_t{1} << 30);
    } else if (key == "lease_seconds") {
      c.lease = std::chrono::seconds(count_at(value, where, 2, 3600));
    } else if (key == "build_timeout_seconds") {
      c.build_timeout = std::chrono::seconds(count_at(value, where, 1, 7 * 86400));
    } else if (key == "shutdown_grace_seconds") {
      c.shutdown_grace = std::chrono::seconds(count_at(value, where, 0, 3600));
    } else if (key == "log_format") {
      c.log_format = string_at(value, where);
    } else if (key == "token_file") {
      read_token_file(c, where, string_at(value, where));
    } else if (key == "kernels" && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!value[i].is_object() || !value[i].contains("name") || !value[i].contains("dir") ||
            value[i].size() != 2) {
          invalid(at, "expected {\"name\": …, \"dir\": …}");
        }
        add_kernel(c.kernels, at, string_at(value[i]["name"], at + ".name"),
                   string_at(value[i]["dir"], at + ".dir"));
      }
    } else if (key == "tokens" && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string at = where + "[" + std::to_string(i) + "]";
        const auto& t = value[i];
        if (!t.is_object() || !t.contains("token") || !t.contains("role")) {
          invalid(at, "expected {\"name\": …, \"token\": …, \"role\": …}");
        }
        c.tokens.push_back(
            {t.contains("name") ? string_at(t["name"], at + ".name") : "token-" + std::to_string(i),
             string_at(t["token"], at + ".token"),
             parse_role(at + ".role", string_at(t["role"], at + ".role"))});
      }
    } else if (key == "webhooks") {
      c.webhooks = parse_webhook_config(
          JsonField(j, "configuration: " + path.string(), ErrorCode::InvalidInput)[key]);
    } else if (key == "registry") {
      apply_registry_object(c, value, where);
    } else if (key == "signing_keys") {
      apply_signing_keys(c, value, where);
    } else if (key == "local_images") {
      for (const std::string& dir : string_array_at(value, where)) {
        add_local_images(c, where, dir);
      }
    } else if (key == "kernels" || key == "tokens") {
      invalid(where, "expected an array");
    } else {
      invalid(where, "unknown key (known: listen, data_dir, kernels, workers, max_queue, "
                     "min_free_mb, max_body_bytes, max_kernel_upload_bytes, lease_seconds, "
                     "build_timeout_seconds, shutdown_grace_seconds, "
                     "log_format, tokens, token_file, registry, local_images, signing_keys, "
                     "webhooks)");
    }
  }
}

void apply_env(ServeConfig& c, const Environment& env) {
  for (const auto& [key, value] : env) {
    if (key == "OCI2EIF_LISTEN") {
      set_listen(c, key, value);
    } else if (key == "OCI2EIF_DATA_DIR") {
      c.data_dir = value;
    } else if (key == "OCI2EIF_WORKERS") {
      c.workers = static_cast<unsigned>(parse_count(key, value, 1, 256));
    } else if (key == "OCI2EIF_MAX_QUEUE") {
      c.max_queue = parse_count(key, value, 1, 1'000'000);
    } else if (key == "OCI2EIF_MIN_FREE_MB") {
      c.min_free_bytes = parse_count(key, value, 0, 1'000'000) << 20;
    } else if (key == "OCI2EIF_TOKEN_FILE") {
      read_token_file(c, key, value);
    } else if (key == "OCI2EIF_SHUTDOWN_GRACE_SECONDS") {
      c.shutdown_grace = std::chrono::seconds(parse_count(key, value, 0, 3600));
    } else if (key == "OCI2EIF_LOG_FORMAT") {
      c.log_format = value;
    } else if (key == "OCI2EIF_KERNEL_DIRS") {
      c.kernels.clear();
      for (const std::string& spec : comma_list(value)) {
        add_kernel_spec(c.kernels, key, spec);
      }
    } else if (key == "OCI2EIF_INSECURE_REGISTRIES") {
      c.registry.insecure_registries.clear();
      for (const std::string& host : comma_list(value)) {
        add_insecure_registry(c, key, host);
      }
    } else if (key == "OCI2EIF_REGISTRY_MIRRORS") {
      c.registry.mirrors.clear();
      for (const std::string& spec : comma_list(value)) {
        add_mirror(c, key, spec);
      }
    } else if (key == "OCI2EIF_REGISTRY_CA") {
      c.registry.extra_ca_file = value;
    } else if (key == "OCI2EIF_PARALLEL_DOWNLOADS") {
      set_parallel_downloads(c, key, parse_count(key, value, 1, kMaxParallelDownloads));
    } else if (key == "OCI2EIF_LOCAL_IMAGES") {
      c.local_images.clear();
      for (const std::string& dir : comma_list(value)) {
        add_local_images(c, key, dir);
      }
    }
  }
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

void apply_registry_flags(ServeConfig& c, const ServeFlags& flags) {
  if (!flags.insecure_registries.empty()) {
    c.registry.insecure_registries.clear();
    for (const std::string& host : flags.insecure_registries) {
      add_insecure_registry(c, "--insecure-registry", host);
    }
  }
  if (!flags.registry_mirrors.empty()) {
    c.registry.mirrors.clear();
    for (const std::string& spec : flags.registry_mirrors) {
      add_mirror(c, "--registry-mirror", spec);
    }
  }
  if (flags.registry_ca) {
    c.registry.extra_ca_file = flags.registry_ca->string();
  }
  if (flags.parallel_downloads) {
    if (*flags.parallel_downloads < 1) {
      invalid("--parallel-downloads", "must be from 1 to " + std::to_string(kMaxParallelDownloads));
    }
    set_parallel_downloads(c, "--parallel-downloads",
                           static_cast<std::uint64_t>(*flags.parallel_downloads));
  }
  if (!flags.local_images.empty()) {
    c.local_images.clear();
    for (const auto& dir : flags.local_images) {
      add_local_images(c, "--local-images", dir);
    }
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

ServeConfig load_serve_config(const ServeFlags& flags, const Environment& env) {
  ServeConfig c;
  c.workers = std::max(1u, std::thread::hardware_concurrency());
  if (flags.config) {
    apply_file(c, *flags.config);
  }
  apply_env(c, env);
  if (flags.listen) {
    set_listen(c, "--listen", *flags.listen);
  }
  if (flags.data_dir) {
    c.data_dir = *flags.data_dir;
  }
  if (!flags.kernel_dirs.empty()) {
    c.kernels.clear();
    for (const std::string& spec : flags.kernel_dirs) {
      add_kernel_spec(c.kernels, "--kernel-dir", spec);
    }
  }
  if (flags.workers) {
    c.workers =
        static_cast<unsigned>(parse_count("--workers", std::to_string(*flags.workers), 1, 256));
  }
  if (flags.token_file) {
    read_token_file(c, "--token-file", *flags.token_file);
  }
  const std::filesystem::path blobs = env.count("OCI2EIF_NITRO_CLI_BLOBS") != 0
                                          ? std::filesystem::path(env.at("OCI2EIF_NITRO_CLI_BLOBS"))
                                          : "/usr/share/nitro_enclaves/blobs";
  const bool named = std::any_of(c.kernels.begin(), c.kernels.end(),
                                 [](const KernelDir& k) { return k.name == "nitro-cli"; });
  if (!named && (std::filesystem::is_regular_file(blobs / "bzImage") ||
                 std::filesystem::is_regular_file(blobs / "Image"))) {
    c.kernels.push_back({"nitro-cli", blobs});
  }
  apply_registry_flags(c, flags);
  if (flags.log_format) {
    c.log_format = *flags.log_format;
  }
  if (flags.shutdown_grace_seconds) {
    c.shutdown_grace = std::chrono::seconds(
        parse_count("--shutdown-grace", std::to_string(*flags.shutdown_grace_seconds), 0, 3600));
  }
  validate(c);
  return c;
}

} // namespace oci2eif::server
