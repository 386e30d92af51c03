#include "registry/registry_source.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "registry/auth.hpp"
#include "registry/http_client.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace oci2eif::registry {
namespace {

constexpr int kMaxRedirects = 5;
constexpr int kMaxAuthRounds = 2;
constexpr long kMaxBackoffMs = 10000;
constexpr long kMaxRetryAfterMs = 60000;
constexpr int kMirrorAttempts = 2; // a failing mirror should not delay the origin for long
// A back-off sleeps in slices this long, checking between them whether the pull was stopped.
constexpr auto kPauseSlice = std::chrono::milliseconds(100);

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

HttpOptions http_options(const std::string& domain, const RegistryOptions& o) {
  HttpOptions h;
  for (const auto& ca : certs_d_cas(domain)) {
    h.extra_ca_files.push_back(ca.string());
  }
  if (!o.extra_ca_file.empty()) {
    h.extra_ca_files.push_back(o.extra_ca_file);
  }
  h.stall_bytes_per_second = 1024;
  h.stall_seconds = o.stall_seconds;
  return h;
}

std::optional<Credentials> credentials_for(const std::string& domain, const RegistryOptions& o,
                                           bool explicit_ok) {
  if (o.credentials && explicit_ok) {
    return o.credentials;
  }
  return load_docker_credentials(
      o.docker_config.empty() ? default_docker_config_path() : o.docker_config, domain);
}

// Where requests go: a mirror or the origin. Each has its own TLS trust and credentials. The
// Authenticator (and the client it fetches tokens with) is shared by threads under `auth_mutex`;
// transfers use the calling thread's own client (HttpClient is not thread-safe).
struct Endpoint {
  std::string label; // "registry 127.0.0.1:5000" or "mirror http://h:1 of docker.io"
  std::string base;  // "scheme://host[:port]"
  HttpOptions http_options;
  std::unique_ptr<HttpClient> http; // the constructing thread's client
  std::unique_ptr<Authenticator> auth;
  std::mutex auth_mutex;
  bool mirror = false;
  std::atomic<bool> failed{false}; // a mirror that failed is not asked again by this pull
};

// A worker thread's clients, one per endpoint, made on first use.
using Clients = std::vector<std::unique_ptr<HttpClient>>;

class Registry final : public RegistrySource {
public:
  Registry(Reference ref, RegistryOptions options)
      : ref_(std::move(ref)), opt_(std::move(options)),
        cache_(open_blob_cache({opt_.cache_dir, opt_.cache_max_bytes,
                                [this](const std::string& line) { log(line); }, opt_.interrupt})),
        scope_("repository:" + ref_.repository + ":pull"), rng_(std::random_device{}()) {
    for (const Mirror& m : opt_.mirrors) {
      if (m.domain == ref_.domain) {
        const std::string host = url_origin(m.url).substr(url_origin(m.url).find("://") + 3);
        add_endpoint("mirror " + m.url + " of " + ref_.domain, url_origin(m.url), host, true);
      }
    }
    add_endpoint("registry " + ref_.domain, "https://" + ref_.api_host(), ref_.domain, false);
    choose_scheme(*endpoints_.back());
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

  void fetch_layers(const std::vector<Descriptor>& layers) override { prefetch(layers); }

  std::optional<BlobFetch> blob_fetch(const std::string& digest) const override {
    const std::lock_guard<std::mutex> lock(fetch_mutex_);
    const auto it = fetches_.find(digest);
    return it == fetches_.end() ? std::nullopt : std::optional<BlobFetch>(it->second);
  }

  std::unique_ptr<ByteSource> open_blob(const Descriptor& d) override {
    const std::string subject = what_blob(d.digest);
    if (is_index_media_type(d.media_type) || is_manifest_media_type(d.media_type) ||
        d.media_type == media_type::kDockerSchema1 ||
        d.media_type == media_type::kDockerSchema1Signed) {
      auto [type, bytes] = manifest_bytes(d.digest);
      return std::make_unique<VerifiedBytes>(std::move(bytes), d, subject);
    }
    return std::make_unique<VerifiedFileSource>(blob_file(d), d.digest, d.size, subject);
  }

  std::pair<std::string, Bytes> manifest_bytes(const std::string& digest) override {
    return fetch_manifest(digest);
  }

  std::filesystem::path blob_file(const Descriptor& d) override {
    return cached_blob(d, nullptr, "blob " + d.digest);
  }

private:
  void add_endpoint(std::string label, std::string base, const std::string& domain, bool mirror) {
    auto ep = std::make_unique<Endpoint>();
    ep->label = std::move(label);
    ep->base = std::move(base);
    ep->mirror = mirror;
    ep->http_options = http_options(domain, opt_);
    ep->http = make_curl_http_client(ep->http_options);
    // Token requests are bounded like manifest requests (the daemon's pre-queue resolution
    // shortens both) and stop with the pull.
    ep->auth =
        std::make_unique<Authenticator>(*ep->http, domain, credentials_for(domain, opt_, !mirror),
                                        opt_.interrupt, opt_.manifest_timeout_ms);
    endpoints_.push_back(std::move(ep));
  }

  void check_interrupt() const {
    if (opt_.interrupt) {
      opt_.interrupt();
    }
  }

  void count(std::atomic<std::uint64_t> PullCounters::*counter, std::uint64_t n) const {
    if (opt_.counters != nullptr) {
      (opt_.counters->*counter) += n;
    }
  }

  void log(const std::string& line) const {
    if (opt_.log) {
      const std::lock_guard<std::mutex> lock(log_mutex_);
      opt_.log(line);
    }
  }

  std::string what_blob(const std::string& digest) const {
    return "registry " + ref_.domain + ", repository " + ref_.repository + ", blob " + digest;
  }

  HttpClient& client(std::size_t endpoint, Clients* clients) {
    if (clients == nullptr) {
      return *endpoints_[endpoint]->http;
    }
    clients->resize(endpoints_.size());
    auto& c = (*clients)[endpoint];
    if (!c) {
      c = make_curl_http_client(endpoints_[endpoint]->http_options);
    }
    return *c;
  }

  // Loopback and --insecure-registry hosts may speak plain HTTP: try TLS first (verified, as
  // always) and fall back only if the server does not speak TLS at all.
  void choose_scheme(Endpoint& ep) {
    if (!use_plain_http(ref_, opt_.insecure_registries)) {
      return;
    }
    try {
      HttpRequest probe;
      probe.url = ep.base + "/v2/";
      probe.timeout_ms = opt_.manifest_timeout_ms;
      probe.interrupt = opt_.interrupt;
      ep.http->send(probe, [](ByteView) {});
    } catch (const TransportError& e) {
      if (e.kind() == TransportError::Kind::TlsHandshake) {
        ep.base = "http://" + ref_.api_host();
        log(ref_.domain + " does not speak TLS; using plain HTTP (loopback or insecure registry)");
      }
    }
  }

  // Runs `fetch` against each mirror, then the origin, until one succeeds. A mirror that fails
  // (other than by lacking the content) is skipped for the rest of the pull; the origin's
  // error is the one reported.
  template <typename Fetch> auto with_fallback(const std::string& what, Fetch&& fetch) {
    for (std::size_t i = 0;; ++i) {
      Endpoint& ep = *endpoints_[i];
      if (i + 1 == endpoints_.size()) {
        return fetch(i);
      }
      if (ep.failed) {
        continue;
      }
      try {
        return fetch(i);
      } catch (const Error& e) {
        check_interrupt(); // a stopped pull is not tried again elsewhere
        if (e.code() != ErrorCode::NotFound) {
          ep.failed = true;
        }
        log(ep.label + ": " + what + " failed (" + e.what() + "); trying " +
            endpoints_[i + 1]->label);
      }
    }
  }

  // One request: credentials for the endpoint's origin only, 401 challenges answered,
  // redirects followed (without credentials once the origin changes).
  HttpResponse exchange(Endpoint& ep, HttpClient& http, HttpRequest req,
                        const BodyCallback& on_body) {
    const std::string home = url_origin(ep.base);
    int auth_rounds = 0;
    for (int redirects = 0; redirects <= kMaxRedirects;) {
      HttpRequest r = req;
      const bool at_home = url_origin(r.url) == home;
      if (at_home) {
        const std::lock_guard<std::mutex> lock(ep.auth_mutex);
        if (auto a = ep.auth->authorization(scope_)) {
          r.headers.emplace_back("Authorization", *a);
        }
      }
      HttpResponse resp = http.send(r, on_body);
      if (resp.status == 401 && at_home && auth_rounds < kMaxAuthRounds) {
        const std::lock_guard<std::mutex> lock(ep.auth_mutex);
        if (ep.auth->on_unauthorized(resp, scope_)) {
          ++auth_rounds;
          continue;
        }
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
    throw Error(ErrorCode::Io, ep.label + ": more than " + std::to_string(kMaxRedirects) +
                                   " redirects for " + req.url);
  }

  int attempts(const Endpoint& ep) const {
    return ep.mirror ? std::min(opt_.max_attempts, kMirrorAttempts) : opt_.max_attempts;
  }

  // How long to wait before attempt `n` (1-based retry count): exponential with jitter, or what
  // the server asked for in Retry-After (seconds).
  long delay_ms(int n, const HttpResponse* resp) {
    long base = std::min(kMaxBackoffMs, opt_.backoff_base_ms << std::min(n - 1, 16));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    long ms = 0;
    {
      const std::lock_guard<std::mutex> lock(rng_mutex_);
      ms = static_cast<long>(static_cast<double>(base) * jitter(rng_));
    }
    if (resp != nullptr) {
      const std::string after = resp->header("retry-after");
      if (!after.empty() && after.find_first_not_of("0123456789") == std::string::npos &&
          after.size() < 6) {
        ms = std::min(kMaxRetryAfterMs, std::max(ms, std::stol(after) * 1000));
      }
    }
    return ms;
  }

  // Sleeps `ms` in short slices, so that a pull stopped during a back-off stops at once.
  void pause(long ms) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (check_interrupt(); std::chrono::steady_clock::now() < end; check_interrupt()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(kPauseSlice, left));
    }
  }

  [[noreturn]] void status_error(const Endpoint& ep, const std::string& what, const HttpResponse& r,
                                 int tries) {
    std::string msg = what + ": HTTP " + std::to_string(r.status) + registry_reason(r);
    if (tries > 1) {
      msg += " after " + std::to_string(tries) + " attempts";
    }
    switch (r.status) {
    case 401:
      throw Error(ErrorCode::Unauthorized,
                  msg + (ep.auth->has_credentials()
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
    auto entry = with_fallback("manifest " + ref,
                               [&](std::size_t i) { return fetch_manifest_from(i, ref); });
    manifests_[sha256_digest(entry.second)] = entry;
    return entry;
  }

  std::pair<std::string, Bytes> fetch_manifest_from(std::size_t index, const std::string& ref) {
    Endpoint& ep = *endpoints_[index];
    const std::string what = (ep.mirror ? ep.label : "registry " + ref_.domain) + ", repository " +
                             ref_.repository + ", manifest " + ref;
    Bytes body;
    HttpResponse resp;
    HttpRequest req;
    req.url = ep.base + "/v2/" + ref_.repository + "/manifests/" + ref;
    req.headers.emplace_back("Accept", kAccept);
    req.timeout_ms = opt_.manifest_timeout_ms;
    req.interrupt = opt_.interrupt;
    const int tries = attempts(ep);
    for (int n = 1;; ++n) {
      body.clear();
      try {
        resp = exchange(ep, *ep.http, req, [&](ByteView c) {
          if (body.size() + c.size() > kMaxManifestSize) {
            throw Error(ErrorCode::Corrupt, what + ": larger than the " +
                                                std::to_string(kMaxManifestSize) +
                                                "-byte manifest limit");
          }
          body.insert(body.end(), c.begin(), c.end());
        });
      } catch (const TransportError& e) {
        if (!e.retryable() || n >= tries) {
          throw Error(e.code(), what + ": " + e.what());
        }
        log(what + ": " + e.what() + "; retrying");
        pause(delay_ms(n, nullptr));
        continue;
      }
      if (retryable_status(resp.status) && n < tries) {
        log(what + ": HTTP " + std::to_string(resp.status) + "; retrying");
        pause(delay_ms(n, &resp));
        continue;
      }
      if (resp.status != 200) {
        status_error(ep, what, resp, n);
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
    if (ep.mirror) {
      log("manifest " + ref + " from " + ep.label);
    }
    return {type, std::move(body)};
  }

  // The cached file of blob `d`, downloaded if the cache lacks it; `label` names it in the log
  // ("layer 2/5 sha256:…").
  std::filesystem::path cached_blob(const Descriptor& d, Clients* clients,
                                    const std::string& label) {
    validate_digest(d.digest, what_blob(d.digest));
    bool downloaded = false;
    std::uint64_t received = 0;
    const std::filesystem::path path =
        cache_->get(d.digest, d.size, what_blob(d.digest), [&](BlobDownload& download) {
          downloaded = true;
          count(&PullCounters::cache_misses, 1);
          log(label + ": downloading " + std::to_string(d.size) + " bytes");
          with_fallback("blob " + d.digest, [&](std::size_t i) {
            if (download.received() > 0) {
              download.restart(); // what a failed mirror sent
            }
            download_blob(i, clients, d, download, received);
            if (endpoints_[i]->mirror) {
              log("blob " + d.digest + " from " + endpoints_[i]->label);
            }
          });
        });
    record_fetch(d.digest, downloaded, received);
    return path;
  }

  // The first use of a blob by this pull decides hit or miss; later uses (the layer that
  // fetch_layers() downloaded, opened to be applied) are not counted again.
  void record_fetch(const std::string& digest, bool downloaded, std::uint64_t received) {
    const std::lock_guard<std::mutex> lock(fetch_mutex_);
    const auto [it, first] = fetches_.try_emplace(digest);
    if (downloaded) {
      it->second.from_cache = false;
      it->second.downloaded += received;
    } else if (first) {
      it->second.from_cache = true;
      count(&PullCounters::cache_hits, 1);
    }
  }

  // Fetches the layers not cached yet, `parallel_downloads` at a time, so that flattening (in
  // order, afterwards) reads them from the cache. The first error stops the others and is
  // thrown. Nothing is fetched ahead if the image would not fit in the cache. Cached layers are
  // left to be verified (and counted as hits) when they are opened.
  void prefetch(const std::vector<Descriptor>& layers) {
    std::vector<std::pair<Descriptor, std::string>> todo; // with its label for the log
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const Descriptor& d = layers[i];
      total += d.size;
      const bool seen = std::any_of(todo.begin(), todo.end(),
                                    [&](const auto& t) { return t.first.digest == d.digest; });
      if (!seen && !cache_->contains(d.digest)) {
        todo.emplace_back(d, "layer " + std::to_string(i + 1) + "/" +
                                 std::to_string(layers.size()) + " " + d.digest);
      }
    }
    if (total > opt_.cache_max_bytes) {
      log("the layers' " + std::to_string(total) + " bytes exceed the cache bound of " +
          std::to_string(opt_.cache_max_bytes) + " bytes; each is fetched as it is applied");
      return;
    }
    const std::size_t workers = std::min<std::size_t>(
        static_cast<std::size_t>(std::max(opt_.parallel_downloads, 1)), todo.size());
    if (workers <= 1) {
      for (const auto& [d, label] : todo) {
        cached_blob(d, nullptr, label);
      }
      return;
    }
    log("fetching " + std::to_string(todo.size()) + " layers, " + std::to_string(workers) +
        " at a time");
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::exception_ptr first_error;
    std::mutex error_mutex;
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        Clients clients;
        for (std::size_t i = next++; !stop && i < todo.size(); i = next++) {
          try {
            cached_blob(todo[i].first, &clients, todo[i].second);
          } catch (...) {
            const std::lock_guard<std::mutex> lock(error_mutex);
            if (!first_error) {
              first_error = std::current_exception();
            }
            stop = true;
          }
        }
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    if (first_error) {
      std::rethrow_exception(first_error);
    }
  }

  // Downloads blob `d` from endpoint `index` into `download`, resuming after a dropped
  // connection; adds the bytes received to `received` and the counters.
  void download_blob(std::size_t index, Clients* clients, const Descriptor& d,
                     BlobDownload& download, std::uint64_t& received) {
    Endpoint& ep = *endpoints_[index];
    HttpClient& http = client(index, clients);
    const std::string what = ep.mirror ? ep.label + ", blob " + d.digest : what_blob(d.digest);
    std::string last_error;
    ErrorCode last_code = ErrorCode::Io;
    const int tries = attempts(ep);
    for (int n = 1; n <= tries; ++n) {
      HttpRequest req;
      req.url = ep.base + "/v2/" + ref_.repository + "/blobs/" + d.digest;
      req.timeout_ms = opt_.blob_timeout_ms;
      req.interrupt = opt_.interrupt;
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
        resp = exchange(ep, http, req, [&](ByteView c) {
          count(&PullCounters::bytes_pulled, c.size());
          received += c.size();
          download.append(c);
        });
      } catch (const TransportError& e) {
        if (!e.retryable()) {
          throw Error(e.code(), what + ": " + e.what());
        }
        last_error = e.what();
        last_code = e.code();
        log(what + ": " + last_error + " after " + std::to_string(download.received()) + " of " +
            std::to_string(d.size) + " bytes; retrying");
        if (n < tries) {
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
        if (n < tries) {
          pause(delay_ms(n, nullptr));
        }
        continue;
      }
      if (resp.status == 416) {
        download.restart();
        continue;
      }
      if (retryable_status(resp.status) && n < tries) {
        log(what + ": HTTP " + std::to_string(resp.status) + "; retrying");
        pause(delay_ms(n, &resp));
        continue;
      }
      status_error(ep, what, resp, n);
    }
    throw Error(last_code, what + ": " + last_error + " (gave up after " + std::to_string(tries) +
                               " attempts)");
  }

  Reference ref_;
  RegistryOptions opt_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_; // mirrors first, the origin last
  std::unique_ptr<BlobCache> cache_;
  std::string scope_;
  std::mt19937 rng_;
  std::mutex rng_mutex_;
  mutable std::mutex log_mutex_;
  std::string resolved_;
  std::map<std::string, std::pair<std::string, Bytes>> manifests_;
  mutable std::mutex fetch_mutex_;
  std::map<std::string, BlobFetch> fetches_; // by digest: how this pull got each blob
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

Mirror parse_mirror(const std::string& spec) {
  const std::size_t eq = spec.find('=');
  const std::string what = "--registry-mirror '" + spec + "'";
  if (eq == std::string::npos || eq == 0) {
    throw Error(ErrorCode::InvalidInput,
                what + ": expected DOMAIN=URL, e.g. docker.io=https://mirror.example:5000");
  }
  Mirror m{spec.substr(0, eq), spec.substr(eq + 1)};
  while (!m.url.empty() && m.url.back() == '/') {
    m.url.pop_back();
  }
  const bool scheme = m.url.rfind("http://", 0) == 0 || m.url.rfind("https://", 0) == 0;
  if (!scheme || m.url.find_first_of("/?#@", m.url.find("://") + 3) != std::string::npos ||
      m.url.size() == m.url.find("://") + 3) {
    throw Error(ErrorCode::InvalidInput,
                what + ": the mirror must be an http:// or https:// URL with a host and no path");
  }
  // The domain is checked as a reference's domain is, and normalised the same way.
  const std::string probe = m.domain + "/x";
  if (m.domain.find_first_of(".:[") == std::string::npos && m.domain != "localhost") {
    throw Error(ErrorCode::InvalidInput,
                what + ": '" + m.domain + "' is not a registry domain (docker.io, host:port)");
  }
  m.domain = Reference::parse(probe).domain;
  return m;
}

std::unique_ptr<RegistrySource> open_registry(const Reference& reference,
                                              const RegistryOptions& options) {
  return std::make_unique<Registry>(reference, options);
}

} // namespace oci2eif::registry
