#include "registry/registry_endpoints.hpp"

#include "registry/credentials.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
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

} // namespace

bool retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

RegistryEndpoints::RegistryEndpoints(const Reference& ref, const RegistryOptions& options)
    : ref_(ref), opt_(options),
      scope_("repository:" + ref_.repository + (opt_.push ? ":pull,push" : ":pull")),
      rng_(std::random_device{}()) {
  for (const Mirror& m : opt_.mirrors) {
    if (m.domain == ref_.domain) {
      const std::string host = url_origin(m.url).substr(url_origin(m.url).find("://") + 3);
      add_endpoint("mirror " + m.url + " of " + ref_.domain, url_origin(m.url), host, true);
    }
  }
  add_endpoint("registry " + ref_.domain, "https://" + ref_.api_host(), ref_.domain, false);
  choose_scheme(*endpoints_.back());
}

void RegistryEndpoints::add_endpoint(std::string label, std::string base, const std::string& domain,
                                     bool mirror) {
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

void RegistryEndpoints::check_interrupt() const {
  if (opt_.interrupt) {
    opt_.interrupt();
  }
}

void RegistryEndpoints::log(const std::string& line) const {
  if (opt_.log) {
    const std::lock_guard<std::mutex> lock(log_mutex_);
    opt_.log(line);
  }
}

HttpClient& RegistryEndpoints::client(std::size_t endpoint, Clients* clients) {
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
void RegistryEndpoints::choose_scheme(Endpoint& ep) {
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

HttpResponse RegistryEndpoints::exchange(Endpoint& ep, HttpClient& http, HttpRequest req,
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
      // 307 and 308 repeat the request as it was (an upload stays a PUT); the others turn
      // into a GET, as browsers and docker do.
      if (req.method != "HEAD" && s != 307 && s != 308) {
        req.method = "GET";
      }
      ++redirects;
      continue;
    }
    return resp;
  }
  throw Error(ErrorCode::Io, ep.label + ": more than " + std::to_string(kMaxRedirects) +
                                 " redirects for " + req.url);
}

int RegistryEndpoints::attempts(const Endpoint& ep) const {
  return ep.mirror ? std::min(opt_.max_attempts, kMirrorAttempts) : opt_.max_attempts;
}

long RegistryEndpoints::delay_ms(int n, const HttpResponse* resp) {
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

void RegistryEndpoints::pause(long ms) const {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (check_interrupt(); std::chrono::steady_clock::now() < end; check_interrupt()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(kPauseSlice, left));
  }
}

void RegistryEndpoints::status_error(const Endpoint& ep, const std::string& what,
                                     const HttpResponse& r, int tries) const {
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

} // namespace oci2eif::registry
