#include "server/config_values.hpp"

#include "core/error.hpp"
#include "core/file_stream.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace oci2eif::server::config_values {
namespace {

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

} // namespace

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

void add_kernel_spec(ServeConfig& c, const std::string& where, const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq + 1 == spec.size()) {
    invalid(where, "'" + spec + "' is not NAME=DIR");
  }
  add_kernel(c.kernels, where, spec.substr(0, eq), spec.substr(eq + 1));
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

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    out.push_back(item);
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

void add_local_images(ServeConfig& c, const std::string& where, const std::filesystem::path& dir) {
  if (!dir.is_absolute()) {
    invalid(where, "'" + dir.string() + "' is not an absolute path");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    invalid(where, "'" + dir.string() + "' is not a directory");
  }
  // As written (normalised): requests name images below it by this path, and the files are
  // opened beneath a handle of it (local_image_policy.hpp), which follows the operator's links.
  std::filesystem::path root = dir.lexically_normal();
  c.local_images.push_back(root.has_filename() ? root : root.parent_path());
}

void add_mirrors_object(ServeConfig& c, const JsonField& mirrors, const std::string& file) {
  for (const auto& [domain, urls] : mirrors.members()) {
    for (const std::string& url : urls.strings()) {
      add_mirror(c, file + ": " + urls.path(), domain + "=" + url);
    }
  }
}

void add_kernels_array(ServeConfig& c, const JsonField& kernels, const std::string& file) {
  for (const JsonField& k : kernels.elements()) {
    const std::string at = file + ": " + k.path();
    if (!k.present() || !k.value().is_object() || k.value().size() != 2 || !k["name"].exists() ||
        !k["dir"].exists()) {
      invalid(at, "expected {\"name\": …, \"dir\": …}");
    }
    add_kernel(c.kernels, at, k["name"].string(), k["dir"].string());
  }
}

void add_tokens_array(ServeConfig& c, const JsonField& tokens, const std::string& file) {
  const std::vector<JsonField> elements = tokens.elements();
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const JsonField& t = elements[i];
    if (!t.present() || !t.value().is_object() || !t["token"].exists() || !t["role"].exists()) {
      invalid(file + ": " + t.path(), "expected {\"name\": …, \"token\": …, \"role\": …}");
    }
    const std::string fallback = "token-" + std::to_string(i);
    c.tokens.push_back({t["name"].exists() ? t["name"].string() : fallback, t["token"].string(),
                        parse_role(file + ": " + t["role"].path(), t["role"].string())});
  }
}

// "signing_keys": [{"name": …, "certificate": FILE, "private_key": FILE or pkcs11: URI}]; the
// files and tokens are loaded (and the pair checked) when the daemon starts.
void add_signing_keys(ServeConfig& c, const JsonField& keys, const std::string& file) {
  for (const JsonField& k : keys.elements()) {
    const std::string at = file + ": " + k.path();
    if (!k.present() || !k.value().is_object() || k.value().size() != 3 || !k["name"].exists() ||
        !k["certificate"].exists() || !k["private_key"].exists()) {
      invalid(at, "expected {\"name\": …, \"certificate\": …, \"private_key\": …}");
    }
    SigningKeyFiles key{k["name"].string(), k["certificate"].string(), k["private_key"].string()};
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

bool parse_switch(const std::string& where, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes") {
    return true;
  }
  if (text == "false" || text == "0" || text == "no") {
    return false;
  }
  invalid(where, "'" + text + "' is not true or false");
}

std::string non_empty(const std::string& where, const std::string& text) {
  if (text.empty()) {
    invalid(where, "must not be empty");
  }
  return text;
}

void set_database(ServeConfig& c, const std::string& where, const std::string& url) {
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    invalid(where, "'" + redacted_database_url(url) +
                       "' is not a postgresql:// URL (leave it unset for SQLite in the data "
                       "directory)");
  }
  c.database = url;
}

void set_object_store(ServeConfig& c, const std::string& where, const std::string& location) {
  const std::string_view scheme = "s3://";
  const std::string rest = location.starts_with(scheme) ? location.substr(scheme.size()) : "";
  const std::string bucket = rest.substr(0, rest.find('/'));
  const bool name_ok =
      bucket.size() >= 3 && bucket.size() <= 63 &&
      std::all_of(bucket.begin(), bucket.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
      });
  if (!name_ok) {
    invalid(where, "'" + location +
                       "' is not s3://BUCKET[/PREFIX] with a bucket of 3-63 characters a-z, 0-9, "
                       "'-' and '.'");
  }
  c.object_store = location;
}

void set_s3_endpoint(ServeConfig& c, const std::string& where, const std::string& url) {
  const bool scheme_ok = url.starts_with("http://") || url.starts_with("https://");
  const std::string rest = scheme_ok ? url.substr(url.find("//") + 2) : "";
  if (!scheme_ok || rest.empty() || rest.find('/') != std::string::npos) {
    invalid(where, "'" + url + "' is not http(s)://HOST[:PORT] (no path)");
  }
  c.s3_endpoint = url;
}

void set_replica_id(ServeConfig& c, const std::string& where, const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 63 && std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
  });
  if (!ok) {
    invalid(where, "'" + id + "' is not 1-63 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  c.replica_id = id;
}

} // namespace oci2eif::server::config_values
