// Where and how a pull asks a registry: the endpoints (the reference's mirrors first, then the
// origin), each with its own TLS trust, credentials and token cache; one request with 401
// challenges answered and redirects followed by hand (Authorization dropped when the origin
// changes); the retry policy (attempts per endpoint, exponential backoff with jitter,
// Retry-After, pauses that notice a stopped pull); and fallback from a failing mirror to the
// next endpoint. ManifestResolver and BlobTransfer make their requests through it.
#pragma once

#include "core/error.hpp"
#include "registry/auth.hpp"
#include "registry/http_client.hpp"
#include "registry/reference.hpp"
#include "registry/registry_source.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace oci2eif::registry {

// A mirror or the origin. The Authenticator (and the client it fetches tokens with) is shared
// by threads under `auth_mutex`; transfers use the calling thread's own client (HttpClient is
// not thread-safe).
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

// Thread-safe once constructed (but for each Endpoint's `http`, used by the constructing
// thread only). `options` must outlive it.
class RegistryEndpoints {
public:
  // Probes the origin for TLS when it may speak plain HTTP (loopback, --insecure-registry).
  RegistryEndpoints(const Reference& ref, const RegistryOptions& options);

  std::size_t size() const { return endpoints_.size(); }
  Endpoint& operator[](std::size_t i) { return *endpoints_[i]; }

  // Endpoint `i`'s client for the calling thread: its own, or (null `clients`) the
  // constructing thread's.
  HttpClient& client(std::size_t i, Clients* clients);

  // Runs `fetch(i)` against each mirror not yet failed, then the origin, until one succeeds. A
  // mirror that fails other than by lacking the content (NotFound) is skipped for the rest of
  // the pull; the origin's error is the one thrown. A stopped pull is not tried elsewhere.
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
        check_interrupt();
        if (e.code() != ErrorCode::NotFound) {
          ep.failed = true;
        }
        log(ep.label + ": " + what + " failed (" + e.what() + "); trying " +
            endpoints_[i + 1]->label);
      }
    }
  }

  // One request: credentials for the endpoint's origin only, 401 challenges answered,
  // redirects followed (without credentials once the origin changes). Throws TransportError
  // as `http` does, Io after too many redirects.
  HttpResponse exchange(Endpoint& ep, HttpClient& http, HttpRequest req,
                        const BodyCallback& on_body);

  // Attempts per request at `ep`, counting the first (fewer at a mirror).
  int attempts(const Endpoint& ep) const;
  // How long to wait before attempt `n` (1-based retry count): exponential with jitter, or
  // what the server asked for in Retry-After (seconds, capped).
  long delay_ms(int n, const HttpResponse* resp);
  // Sleeps `ms` in short slices, so that a pull stopped during a back-off stops at once.
  void pause(long ms) const;
  // Throws the Error for a final non-success status `r` of the request `what`: Unauthorized
  // (401, 403), NotFound, RateLimited, else Io; with the registry's reason and `tries`.
  [[noreturn]] void status_error(const Endpoint& ep, const std::string& what, const HttpResponse& r,
                                 int tries) const;

  // Calls the pull's interrupt: throws if the pull was stopped.
  void check_interrupt() const;
  // Passes `line` to the pull's log, one line at a time from any thread.
  void log(const std::string& line) const;

private:
  void add_endpoint(std::string label, std::string base, const std::string& domain, bool mirror);
  void choose_scheme(Endpoint& ep);

  const Reference& ref_;
  const RegistryOptions& opt_;
  std::string scope_; // the token scope: pull (and push) on the reference's repository
  std::vector<std::unique_ptr<Endpoint>> endpoints_; // mirrors first, the origin last
  std::mt19937 rng_;
  std::mutex rng_mutex_;
  mutable std::mutex log_mutex_;
};

// Whether `status` is worth another attempt: 408, 429 and 5xx.
bool retryable_status(long status);

} // namespace oci2eif::registry
