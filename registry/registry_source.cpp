#include "registry/registry_source.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "registry/auth.hpp"
#include "registry/http_client.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace oci2eif::registry {
namespace {

constexpr int kMaxRedirects = 5;
constexpr int kMaxAuthRounds = 2;
constexpr long kManifestTimeoutMs = 60000;
constexpr long kMaxBackoffMs = 10000;
constexpr long kMaxRetryAfterMs = 60000;

const std::string kAccept = std::string(media_type::kOciIndex) + ", " + media_type::kOciManifest +
                            ", " + media_type::kDockerList + ", " + media_type::kDockerManifest;

bool retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

// The registry's own explanation from an error body {"errors":[{"code","message"}]}, if any.
std::string registry_reason(const HttpResponse& r) {
  const nlohmann::json j = nlohmann::json::parse(r.error_body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_object()) {
    const auto& e = j["errors"][0];
    return " (" + e.value("code", std::string("?")) + ": " + e.value("message", std::string()) +
           ")";
  }
  return "";
}

std::string strip_params(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') {
    t.pop_back();
  }
  return t;
}

// Owns bytes and a verifying reader over them.
class VerifiedBytes final : public ByteSource {
public:
  VerifiedBytes(Bytes data, const Descriptor& d, const std::string& subject)
      : data_(std::move(data)), mem_(data_, subject), verify_(mem_, d.digest, d.size, subject) {}
  std::uint64_t size() const override { return verify_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override { return verify_.read(out); }
  std::string describe() const override { return verify_.describe(); }

private:
  Bytes data_;
  MemorySource mem_;
  VerifyingSource verify_;
};

class VerifiedFile final : public ByteSource {
public:
  VerifiedFile(const std::filesystem::path& path, const Descriptor& d, const std::string& subject)
      : file_(path), verify_(file_, d.digest, d.size, subject) {}
  std::uint64_t size() const override { return verify_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override { return verify_.read(out); }
  std::string describe() const override { return verify_.describe(); }

private:
  FileSource file_;
  VerifyingSource verify_;
};

HttpOptions http_options(const Reference& ref, const RegistryOptions& o) {
  HttpOptions h;
  for (const auto& ca : certs_d_cas(ref.domain)) {
    h.extra_ca_files.push_back(ca.string());
  }
  if (!o.extra_ca_file.empty()) {
    h.extra_ca_files.push_back(o.extra_ca_file);
  }
  h.stall_bytes_per_second = 1024;
  h.stall_seconds = o.stall_seconds;
  return h;
}

std::optional<Credentials> credentials_for(const Reference& ref, const RegistryOptions& o) {
  if (o.credentials) {
    return o.credentials;
  }
  return load_docker_credentials(
      o.docker_config.empty() ? default_docker_config_path() : o.docker_config, ref.domain);
}

class Registry final : public RegistrySource {
public:
  Registry(Reference ref, RegistryOptions options)
      : ref_(std::move(ref)), opt_(std::move(options)),
        http_(make_curl_http_client(http_options(ref_, opt_))),
        auth_(*http_, ref_.domain, credentials_for(ref_, opt_)),
        cache_(opt_.cache_dir.empty() ? BlobCache::default_dir() : opt_.cache_dir,
               opt_.cache_max_bytes, [this](const std::string& line) { log(line); }),
        scope_("repository:" + ref_.repository + ":pull"), rng_(std::random_device{}()) {
    choose_scheme();
  }

  std::string name() const override { return ref_.to_string(); }
  const Reference& reference() const override { return ref_; }
  std::string resolved_digest() const override { return resolved_; }

  ImageRoot root() override {
    const auto& [type, bytes] = fetch_manifest(ref_.manifest_ref());
    resolved_ = sha256_digest(bytes);
    log("resolved " + ref_.to_string() + " to " + resolved_ + " (" + type + ")");
    Descriptor d;
    d.media_type = type;
    d.digest = resolved_;
    d.size = bytes.size();
    return d;
  }

  std::unique_ptr<ByteSource> open_blob(const Descriptor& d) override {
    const std::string subject = what_blob(d.digest);
    if (is_index_media_type(d.media_type) || is_manifest_media_type(d.media_type) ||
        d.media_type == media_type::kDockerSchema1 ||
        d.media_type == media_type::kDockerSchema1Signed) {
      auto [type, bytes] = manifest_bytes(d.digest);
      return std::make_unique<VerifiedBytes>(std::move(bytes), d, subject);
    }
    return std::make_unique<VerifiedFile>(blob_file(d), d, subject);
  }

  std::pair<std::string, Bytes> manifest_bytes(const std::string& digest) override {
    return fetch_manifest(digest);
  }

  std::filesystem::path blob_file(const Descriptor& d) override {
    validate_digest(d.digest, what_blob(d.digest));
    const std::string subject = what_blob(d.digest);
    return cache_.get(d.digest, d.size, subject,
                      [&](BlobDownload& download) { download_blob(d, download); });
  }

private:
  void log(const std::string& line) const {
    if (opt_.log) {
      opt_.log(line);
    }
  }

  std::string what_blob(const std::string& digest) const {
    return "registry " + ref_.domain + ", repository " + ref_.repository + ", blob " + digest;
  }

  // Loopback and --insecure-registry hosts may speak plain HTTP: try TLS first (verified, as
  // always) and fall back only if the server does not speak TLS at all.
  void choose_scheme() {
    base_ = "https://" + ref_.api_host();
    if (!use_plain_http(ref_, opt_.insecure_registries)) {
      return;
    }
    try {
      HttpRequest probe;
      probe.url = base_ + "/v2/";
      probe.timeout_ms = kManifestTimeoutMs;
      http_->send(probe, [](ByteView) {});
    } catch (const TransportError& e) {
      if (e.kind() == TransportError::Kind::TlsHandshake) {
        base_ = "http://" + ref_.api_host();
        log(ref_.domain + " does not speak TLS; using plain HTTP (loopback or insecure registry)");
      }
    }
  }

  // One request: credentials for our origin only, 401 challenges answered, redirects followed.
  HttpResponse exchange(HttpRequest req, const BodyCallback& on_body) {
    const std::string home = url_origin(base_);
    int auth_rounds = 0;
    for (int redirects = 0; redirects <= kMaxRedirects;) {
      HttpRequest r = req;
      const bool at_home = url_origin(r.url) == home;
      if (at_home) {
        if (auto a = auth_.authorization(scope_)) {
          r.headers.emplace_back("Authorization", *a);
        }
      }
      HttpResponse resp = http_->send(r, on_body);
      if (resp.status == 401 && at_home && auth_rounds < kMaxAuthRounds &&
          auth_.on_unauthorized(resp, scope_)) {
        ++auth_rounds;
        continue;
      }
      const long s = resp.status;
      if ((s == 301 || s == 302 || s == 303 || s == 307 || s == 308) &&
          !resp.header("location").empty()) {
        req.url = resolve_location(r.url, resp.header("location"));
        req.method = req.method == "HEAD" ? "HEAD" : "GET";
        ++redirects;
        continue;
      }
      return resp;
    }
    throw Error(ErrorCode::Io, "registry " + ref_.domain + ": more than " +
                                   std::to_string(kMaxRedirects) + " redirects for " + req.url);
  }

  // How long to wait before attempt `n` (1-based retry count): exponential with jitter, or what
  // the server asked for in Retry-After (seconds).
  long delay_ms(int n, const HttpResponse* resp) {
    long base = std::min(kMaxBackoffMs, opt_.backoff_base_ms << std::min(n - 1, 16));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    long ms = static_cast<long>(static_cast<double>(base) * jitter(rng_));
    if (resp != nullptr) {
      const std::string after = resp->header("retry-after");
      if (!after.empty() && after.find_first_not_of("0123456789") == std::string::npos &&
          after.size() < 6) {
        ms = std::min(kMaxRetryAfterMs, std::max(ms, std::stol(after) * 1000));
      }
    }
    return ms;
  }

  void pause(long ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

  [[noreturn]] void status_error(const std::string& what, const HttpResponse& r, int attempts) {
    std::string msg = what + ": HTTP " + std::to_string(r.status) + registry_reason(r);
    if (attempts > 1) {
      msg += " after " + std::to_string(attempts) + " attempts";
    }
    switch (r.status) {
    case 401:
      throw Error(ErrorCode::Unauthorized,
                  msg + (auth_.has_credentials()
                             ? "; the registry refused the configured credentials"
                             : "; the registry needs credentials (docker config.json)"));
    case 403:
      throw Error(ErrorCode::Unauthorized, msg + "; access denied");
    case 404:
      throw Error(ErrorCode::NotFound, msg + "; not found");
    case 429:
      throw Error(ErrorCode::RateLimited, msg + "; rate limited");
    default:
      throw Error(ErrorCode::Io, msg);
    }
  }

  std::pair<std::string, Bytes> fetch_manifest(const std::string& ref) {
    if (const auto it = manifests_.find(ref); it != manifests_.end()) {
      return it->second;
    }
    const std::string what =
        "registry " + ref_.domain + ", repository " + ref_.repository + ", manifest " + ref;
    Bytes body;
    HttpResponse resp;
    HttpRequest req;
    req.url = base_ + "/v2/" + ref_.repository + "/manifests/" + ref;
    req.headers.emplace_back("Accept", kAccept);
    req.timeout_ms = kManifestTimeoutMs;
    for (int n = 1;; ++n) {
      body.clear();
      try {
        resp = exchange(req, [&](ByteView c) {
          if (body.size() + c.size() > kMaxManifestSize) {
            throw Error(ErrorCode::Corrupt, what + ": larger than the " +
                                                std::to_string(kMaxManifestSize) +
                                                "-byte manifest limit");
          }
          body.insert(body.end(), c.begin(), c.end());
        });
      } catch (const TransportError& e) {
        if (!e.retryable() || n >= opt_.max_attempts) {
          throw Error(e.code(), what + ": " + e.what());
        }
        log(what + ": " + e.what() + "; retrying");
        pause(delay_ms(n, nullptr));
        continue;
      }
      if (retryable_status(resp.status) && n < opt_.max_attempts) {
        log(what + ": HTTP " + std::to_string(resp.status) + "; retrying");
        pause(delay_ms(n, &resp));
        continue;
      }
      if (resp.status != 200) {
        status_error(what, resp, n);
      }
      break;
    }
    std::string type = strip_params(resp.header("content-type"));
    if (!is_index_media_type(type) && !is_manifest_media_type(type)) {
      // Some registries answer application/json; the document names its type.
      const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
      if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) {
        type = j["mediaType"].get<std::string>();
      } else if (j.is_object() && j.value("schemaVersion", 0) == 1) {
        type = media_type::kDockerSchema1;
      }
    }
    if (type == media_type::kDockerSchema1 || type == media_type::kDockerSchema1Signed) {
      throw Error(ErrorCode::Unsupported,
                  what + ": Docker schema 1 manifests are not supported (deprecated since 2017); "
                         "push the image again with a current docker, buildah or skopeo");
    }
    if (!is_index_media_type(type) && !is_manifest_media_type(type)) {
      throw Error(ErrorCode::Unsupported,
                  what + ": unsupported manifest media type '" + type + "'");
    }
    const std::string digest = sha256_digest(body);
    if (ref.rfind("sha256:", 0) == 0 && digest != ref) {
      throw Error(ErrorCode::DigestMismatch,
                  what + ": the registry sent a manifest whose digest is " + digest);
    }
    const std::string stated = resp.header("docker-content-digest");
    if (!stated.empty() && stated != digest) {
      throw Error(ErrorCode::DigestMismatch, what + ": Docker-Content-Digest says " + stated +
                                                 " but the bytes hash to " + digest);
    }
    auto entry = std::make_pair(type, std::move(body));
    manifests_[digest] = entry;
    return entry;
  }

  void download_blob(const Descriptor& d, BlobDownload& download) {
    const std::string what = what_blob(d.digest);
    std::string last_error;
    ErrorCode last_code = ErrorCode::Io;
    for (int n = 1; n <= opt_.max_attempts; ++n) {
      HttpRequest req;
      req.url = base_ + "/v2/" + ref_.repository + "/blobs/" + d.digest;
      req.timeout_ms = opt_.blob_timeout_ms;
      if (download.received() > 0) {
        req.range_start = download.received();
      }
      req.on_head = [&](const HttpResponse& head) {
        if (req.range_start && head.status != 206) {
          log(what + ": the server ignored Range; downloading from the start");
          download.restart();
        }
      };
      HttpResponse resp;
      try {
        resp = exchange(req, [&](ByteView c) { download.append(c); });
      } catch (const TransportError& e) {
        if (!e.retryable()) {
          throw Error(e.code(), what + ": " + e.what());
        }
        last_error = e.what();
        last_code = e.code();
        log(what + ": " + last_error + " after " + std::to_string(download.received()) + " of " +
            std::to_string(d.size) + " bytes; retrying");
        if (n < opt_.max_attempts) {
          pause(delay_ms(n, nullptr));
        }
        continue;
      }
      if (resp.status == 200 || resp.status == 206) {
        if (download.received() == d.size) {
          return;
        }
        last_error = "the connection ended after " + std::to_string(download.received()) + " of " +
                     std::to_string(d.size) + " bytes";
        last_code = ErrorCode::Io;
        log(what + ": " + last_error + "; resuming");
        if (n < opt_.max_attempts) {
          pause(delay_ms(n, nullptr));
        }
        continue;
      }
      if (resp.status == 416) {
        download.restart();
        continue;
      }
      if (retryable_status(resp.status) && n < opt_.max_attempts) {
        log(what + ": HTTP " + std::to_string(resp.status) + "; retrying");
        pause(delay_ms(n, &resp));
        continue;
      }
      status_error(what, resp, n);
    }
    throw Error(last_code, what + ": " + last_error + " (gave up after " +
                               std::to_string(opt_.max_attempts) + " attempts)");
  }

  Reference ref_;
  RegistryOptions opt_;
  std::unique_ptr<HttpClient> http_;
  Authenticator auth_;
  BlobCache cache_;
  std::string scope_;
  std::mt19937 rng_;
  std::string base_;
  std::string resolved_;
  std::map<std::string, std::pair<std::string, Bytes>> manifests_;
};

} // namespace

bool use_plain_http(const Reference& reference, const std::vector<std::string>& insecure) {
  if (reference.is_loopback()) {
    return true;
  }
  return std::find(insecure.begin(), insecure.end(), reference.domain) != insecure.end() ||
         std::find(insecure.begin(), insecure.end(), reference.host_name()) != insecure.end();
}

std::vector<std::filesystem::path> certs_d_cas(const std::string& domain,
                                               const std::filesystem::path& root) {
  std::vector<std::filesystem::path> out;
  for (const char* dir : {"etc/docker/certs.d", "etc/containers/certs.d"}) {
    const std::filesystem::path ca = root / dir / domain / "ca.crt";
    std::error_code ec;
    if (std::filesystem::is_regular_file(ca, ec)) {
      out.push_back(ca);
    }
  }
  return out;
}

std::unique_ptr<RegistrySource> open_registry(const Reference& reference,
                                              const RegistryOptions& options) {
  return std::make_unique<Registry>(reference, options);
}

} // namespace oci2eif::registry
