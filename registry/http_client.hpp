// A small HTTP client for the registry protocol: one request at a time, response bodies streamed
// to a callback, redirects returned to the caller (not followed) so the caller decides which
// headers go to the next host. TLS verification is always on. libcurl stays in the .cpp.
#pragma once

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/interrupt.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::registry {

struct HttpResponse;

// A request body read as it is sent, so that a 1 GiB blob never sits in memory: `open` is called
// once per send() (a retried or re-authenticated request starts again from the first byte) and
// must yield exactly `size` bytes.
struct StreamedBody {
  std::function<std::unique_ptr<ByteSource>()> open;
  std::uint64_t size = 0;
};

struct HttpRequest {
  std::string method = "GET"; // GET, HEAD, POST or PUT (POST/PUT send `body` or `upload`)
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::uint64_t> range_start; // "Range: bytes=N-"
  std::string body;                         // for POST and PUT, unless `upload` is set
  std::optional<StreamedBody> upload;       // for PUT: streamed instead of `body`
  long timeout_ms = 0;                      // whole request; 0: none (stall detection still on)
  // Called once with the status and headers before the first body byte of a 2xx answer.
  std::function<void(const HttpResponse&)> on_head;
  // Called while the request runs, as data arrives and at least about once a second while it
  // waits; an exception it throws aborts the transfer and send() rethrows it unchanged.
  Interrupt interrupt;
};

struct HttpResponse {
  long status = 0;
  std::multimap<std::string, std::string> headers; // names in lower case
  std::string error_body; // the body of a non-2xx answer, at most 64 KiB (for messages)

  // The first value of header `name` (lower case), or "".
  std::string header(const std::string& name) const;
};

struct HttpOptions {
  std::vector<std::string> extra_ca_files; // PEM CAs trusted in addition to the system's
  long connect_timeout_ms = 15000;
  // A transfer slower than `stall_bytes_per_second` for `stall_seconds` is aborted (Timeout).
  long stall_bytes_per_second = 1;
  long stall_seconds = 30;
};

// A failure below HTTP: refused or reset connection, DNS, TLS, timeout.
class TransportError : public Error {
public:
  enum class Kind {
    Network,      // refused, reset, DNS, closed early: worth retrying
    Timeout,      // connect, overall or stall timeout: worth retrying
    TlsHandshake, // no TLS spoken (e.g. a plain-HTTP server): a retry will not help
    TlsVerify,    // the certificate is not trusted: a retry will not help
    Other,        // malformed URL and the like
  };
  TransportError(ErrorCode code, const std::string& message, Kind kind)
      : Error(code, message), kind_(kind) {}
  Kind kind() const { return kind_; }
  bool retryable() const { return kind_ == Kind::Network || kind_ == Kind::Timeout; }

private:
  Kind kind_;
};

// Receives the body of a 2xx answer as it arrives.
using BodyCallback = std::function<void(ByteView)>;

class HttpClient {
public:
  virtual ~HttpClient() = default;
  // Performs one request; never follows redirects. Throws TransportError. Not thread-safe.
  virtual HttpResponse send(const HttpRequest& request, const BodyCallback& on_body) = 0;
};

std::unique_ptr<HttpClient> make_curl_http_client(const HttpOptions& options);

// "https://h:1/x" → "h:1"; the origin comparison used to decide whether credentials may follow a
// redirect ("scheme://host:port").
std::string url_origin(const std::string& url);
// Resolves a Location header against the URL it answered.
std::string resolve_location(const std::string& base_url, const std::string& location);

} // namespace oci2eif::registry
