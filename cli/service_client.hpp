// ServiceClient: the HTTP client `oci2eif submit` talks to a running `oci2eif serve` with.
//
// It owns what every call needs: the base URL, the bearer token (sent, never printed), retries
// of 429 and 503 honouring Retry-After and of connection failures with backoff, all within a
// deadline; and it sorts every failure into the exit codes CI jobs branch on (SubmitExit).
#pragma once

#include "registry/http_client.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace oci2eif::cli {

// The exit status of `oci2eif submit` (documented in docs/ci.md and its --help).
enum class SubmitExit : int {
  Succeeded = 0,   // the build succeeded (or, without --wait, was accepted)
  BuildFailed = 1, // the build ended failed or cancelled
  Usage = 2,       // the command line is wrong (as every subcommand)
  Refused = 3,     // the server refused the request: invalid, unauthorized, forbidden, not found
  Unavailable = 4, // the server cannot be reached, or stays busy (429) or unready (5xx)
  TimedOut = 5,    // --timeout passed before the build ended; it goes on on the server
};

// A failure of `submit` with the exit status it means.
class SubmitFailure : public std::runtime_error {
public:
  SubmitFailure(SubmitExit exit, const std::string& message)
      : std::runtime_error(message), exit_(exit) {}
  SubmitExit exit() const { return exit_; }

private:
  SubmitExit exit_;
};

struct ServiceCall {
  std::string method = "GET"; // GET or POST
  std::string path;           // "/v1/builds", appended to the base URL
  std::string body;           // for POST: JSON
  std::vector<std::pair<std::string, std::string>> headers;
  // Retry 429, 503 and connection failures. Off for streams whose bytes were already passed
  // on (a retried log follow would print the log twice).
  bool retry = true;
};

// A GET of `path`, retried.
inline ServiceCall get_call(std::string path) {
  ServiceCall call;
  call.path = std::move(path);
  return call;
}

struct ServiceAnswer {
  long status = 0;
  std::string body; // the whole body (for a 2xx answer only when no body callback was given)
};

class ServiceClient {
public:
  using Clock = std::chrono::steady_clock;

  // `base_url`: http(s)://host[:port][/prefix]; `token`: sent as a bearer token when set;
  // `deadline`: no retry waits past it (and the caller stops waiting at it).
  ServiceClient(std::string base_url, std::optional<std::string> token,
                const registry::HttpOptions& options, std::optional<Clock::time_point> deadline);

  // One call, retried as `call.retry` says. Answers with any status the caller handles (2xx,
  // 4xx); throws SubmitFailure(Unavailable) once retries are spent or for another 5xx.
  // `on_body`, when given, receives a 2xx body as it arrives instead of ServiceAnswer::body.
  ServiceAnswer send(const ServiceCall& call, const registry::BodyCallback& on_body = {});

  // A 4xx answer as SubmitFailure(Refused), with the problem's code and detail.
  [[noreturn]] static void refuse(const ServiceCall& call, const ServiceAnswer& answer);

  const std::string& base_url() const { return base_url_; }
  // Seconds until the deadline (at least 1), or `fallback` when there is none; at most `cap`.
  int seconds_left(int fallback, int cap) const;
  bool past_deadline() const { return deadline_ && Clock::now() >= *deadline_; }

private:
  // Sleeps `delay` if the retry window allows it; false when it does not.
  bool wait_to_retry(std::chrono::seconds delay) const;

  std::string base_url_;
  std::optional<std::string> token_;
  std::unique_ptr<registry::HttpClient> http_;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point retry_until_; // busy or unreachable this long: give up (Unavailable)
};

} // namespace oci2eif::cli
