#include "cli/service_client.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

namespace oci2eif::cli {
namespace {

// Busy (429, 503) or unreachable for this long without a deadline: the server is not coming
// back soon enough for a CI job, which says so (Unavailable) rather than hanging.
constexpr std::chrono::minutes kDefaultRetryWindow{10};
constexpr int kMaxRetryAfterSeconds = 60;
// A refused or broken connection is retried this often (after 1, 2, 4, 8 s): a restarting
// server is back by then; a wrong URL is reported within seconds, not minutes.
constexpr int kMaxConnectionRetries = 4;

// Retry-After in seconds (RFC 9110 10.2.3); an HTTP-date or nothing: 1 s. At most a minute.
std::chrono::seconds retry_after(const registry::HttpResponse& response) {
  const std::string v = response.header("retry-after");
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
    return std::chrono::seconds(1);
  }
  return std::chrono::seconds(std::clamp(std::stoi(v), 1, kMaxRetryAfterSeconds));
}

// "queue_full: the build queue is full…" from a problem+json body, else the status and body.
std::string problem_text(long status, const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("detail") && j["detail"].is_string()) {
    const std::string code = j.value("code", "");
    return std::to_string(status) + (code.empty() ? "" : " " + code) + ": " +
           j["detail"].get<std::string>();
  }
  return std::to_string(status) + (body.empty() ? "" : ": " + body.substr(0, 200));
}

} // namespace

ServiceClient::ServiceClient(std::string base_url, std::optional<std::string> token,
                             const registry::HttpOptions& options,
                             std::optional<Clock::time_point> deadline)
    : base_url_(std::move(base_url)), token_(std::move(token)),
      http_(registry::make_curl_http_client(options)), deadline_(deadline),
      retry_until_(std::min(deadline.value_or(Clock::time_point::max()),
                            Clock::now() + kDefaultRetryWindow)) {
  while (base_url_.ends_with('/')) {
    base_url_.pop_back();
  }
}

bool ServiceClient::wait_to_retry(std::chrono::seconds delay) const {
  if (Clock::now() + delay >= retry_until_) {
    return false;
  }
  std::this_thread::sleep_for(delay);
  return true;
}

ServiceAnswer ServiceClient::send(const ServiceCall& call, const registry::BodyCallback& on_body) {
  registry::HttpRequest request;
  request.method = call.method;
  request.url = base_url_ + call.path;
  request.body = call.body;
  request.headers = call.headers;
  if (token_) {
    request.headers.emplace_back("Authorization", "Bearer " + *token_);
  }
  const std::string what = call.method + " " + call.path;
  std::chrono::seconds backoff(1);
  int connection_retries = 0;
  for (;;) {
    ServiceAnswer answer;
    try {
      const registry::HttpResponse r = http_->send(
          request, on_body ? on_body : [&answer](ByteView data) { answer.body += as_chars(data); });
      answer.status = r.status;
      if (r.status < 300) {
        return answer;
      }
      answer.body = r.error_body;
      const bool busy = r.status == 429 || r.status == 503;
      if (busy && call.retry && wait_to_retry(retry_after(r))) {
        continue;
      }
      if (busy || r.status >= 500) {
        throw SubmitFailure(SubmitExit::Unavailable, base_url_ + " answered " + what + " with " +
                                                         problem_text(r.status, answer.body));
      }
      return answer;
    } catch (const registry::TransportError& e) {
      if (!e.retryable() || !call.retry || ++connection_retries > kMaxConnectionRetries ||
          !wait_to_retry(backoff)) {
        throw SubmitFailure(SubmitExit::Unavailable,
                            "cannot reach " + base_url_ + " (" + what + "): " + e.what());
      }
      backoff = std::min(backoff * 2, std::chrono::seconds(30));
    }
  }
}

void ServiceClient::refuse(const ServiceCall& call, const ServiceAnswer& answer) {
  throw SubmitFailure(SubmitExit::Refused, "the server refused " + call.method + " " + call.path +
                                               ": " + problem_text(answer.status, answer.body));
}

int ServiceClient::seconds_left(int fallback, int cap) const {
  if (!deadline_) {
    return std::min(fallback, cap);
  }
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(*deadline_ - Clock::now());
  return std::clamp(static_cast<int>(left.count()), 1, cap);
}

} // namespace oci2eif::cli
