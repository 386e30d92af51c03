#include "registry/http_client.hpp"

#include "core/file_stream.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <curl/curl.h>
#include <fstream>
#include <mutex>
#include <sstream>

namespace oci2eif::registry {
namespace {

constexpr std::size_t kMaxErrorBody = 64 << 10;
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  const std::size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::NotFound, "CA file " + path + " cannot be read");
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Transfer {
  HttpResponse response;
  const HttpRequest* request = nullptr;
  bool head_reported = false;
  const BodyCallback* on_body = nullptr;
  std::exception_ptr callback_error;
  std::unique_ptr<ByteSource> upload; // the streamed body of this send(), opened afresh
};

// libcurl's READFUNCTION: the next bytes of a streamed body. An exception (an unreadable file)
// may not cross curl's C frames: it is kept and rethrown after curl_easy_perform() returns.
std::size_t on_read(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  try {
    return t->upload->read(
        std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(data), size * n));
  } catch (...) {
    t->callback_error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

// The method and body of `request`: POST and PUT send `body`, or PUT streams `upload`.
void set_method(CURL* curl, const HttpRequest& request, Transfer& t) {
  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
  } else if (request.method == "PUT" && request.upload) {
    t.upload = request.upload->open();
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.upload->size));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
  } else if (request.method == "PUT") {
    // POSTFIELDS with a custom method: a string body without a read callback.
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
  }
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (also after 100 Continue): "HTTP/1.1 200 OK", "HTTP/2 200".
    t->response.headers.clear();
    const std::size_t sp = line.find(' ');
    t->response.status = sp == std::string::npos ? 0 : std::atol(line.c_str() + sp + 1);
    return size * n;
  }
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    t->response.headers.emplace(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * n;
}

std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  if (t->response.status == 0) {
    return 0;
  }
  if (t->response.status < 200 || t->response.status >= 300) {
    const std::size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t->response.error_body.size());
    t->response.error_body.append(data, std::min(room, len));
    return len;
  }
  try {
    if (!t->head_reported) {
      t->head_reported = true;
      if (t->request->on_head) {
        t->request->on_head(t->response);
      }
    }
    (*t->on_body)(ByteView(reinterpret_cast<const std::uint8_t*>(data), len));
  } catch (...) {
    t->callback_error = std::current_exception();
    return 0; // aborts the transfer
  }
  return len;
}

// libcurl's progress callback: the place to stop a transfer from outside, including one that
// receives nothing. The exception may not cross curl's C frames: it is kept and rethrown after
// curl_easy_perform() returns (non-zero here aborts with CURLE_ABORTED_BY_CALLBACK).
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  try {
    t->request->interrupt();
  } catch (...) {
    t->callback_error = std::current_exception();
    return 1;
  }
  return 0;
}

bool is_tls_verify_error(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
         rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR ||
         rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

class CurlHttpClient final : public HttpClient {
public:
  explicit CurlHttpClient(const HttpOptions& options) : options_(options) {
    global_init();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) {
      throw Error(ErrorCode::Internal, "curl_easy_init failed");
    }
    if (!options_.extra_ca_files.empty()) {
      // CURLOPT_CAINFO would replace the system store; a blob of both adds to it.
      std::error_code ec;
      ca_blob_ = std::filesystem::exists(kSystemCaBundle, ec) ? slurp(kSystemCaBundle) : "";
      for (const std::string& file : options_.extra_ca_files) {
        ca_blob_ += "\n" + slurp(file);
      }
    }
  }
  ~CurlHttpClient() override { curl_easy_cleanup(curl_); }
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  HttpResponse send(const HttpRequest& request, const BodyCallback& on_body) override {
    curl_easy_reset(curl_);
    Transfer t;
    t.on_body = &on_body;
    t.request = &request;
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    const std::string range =
        request.range_start ? std::to_string(*request.range_start) + "-" : std::string();
    curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_NOBODY, request.method == "HEAD" ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, request.timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, options_.stall_bytes_per_second);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, options_.stall_seconds);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "oci2eif");
    curl_easy_setopt(curl_, CURLOPT_ACCEPT_ENCODING, nullptr); // blobs must arrive as stored
    set_method(curl_, request, t);
    if (!range.empty()) {
      curl_easy_setopt(curl_, CURLOPT_RANGE, range.c_str());
    }
    if (!ca_blob_.empty()) {
      curl_blob blob{ca_blob_.data(), ca_blob_.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(curl_, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &t);
    if (request.interrupt) {
      curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, &t);
    }
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (t.callback_error) {
      std::rethrow_exception(t.callback_error);
    }
    if (rc != CURLE_OK) {
      throw transport_error(rc, errbuf, request.url);
    }
    return t.response;
  }

private:
  static TransportError transport_error(CURLcode rc, const char* errbuf, const std::string& url) {
    using Kind = TransportError::Kind;
    const std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    const std::string origin = url_origin(url);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return {ErrorCode::Timeout, origin + ": timed out (" + detail + ")", Kind::Timeout};
    }
    if (is_tls_verify_error(rc)) {
      return {ErrorCode::Unauthorized,
              origin + ": TLS certificate verification failed (" + detail +
                  "); trust the registry's CA with --registry-ca FILE or "
                  "/etc/docker/certs.d/HOST:PORT/ca.crt",
              Kind::TlsVerify};
    }
    if (rc == CURLE_SSL_CONNECT_ERROR) {
      return {ErrorCode::Io, origin + ": TLS handshake failed (" + detail + ")",
              Kind::TlsHandshake};
    }
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
      return {ErrorCode::InvalidInput, origin + ": " + detail, Kind::Other};
    }
    return {ErrorCode::Io, origin + ": " + detail, Kind::Network};
  }

  HttpOptions options_;
  CURL* curl_ = nullptr;
  std::string ca_blob_;
};

} // namespace

std::string HttpResponse::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::unique_ptr<HttpClient> make_curl_http_client(const HttpOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

std::string url_origin(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) {
    return url;
  }
  const std::size_t end = url.find_first_of("/?#", scheme + 3);
  return lower(url.substr(0, end));
}

std::string resolve_location(const std::string& base_url, const std::string& location) {
  if (location.find("://") != std::string::npos) {
    return location;
  }
  const std::string origin = url_origin(base_url);
  if (location.rfind("//", 0) == 0) {
    return origin.substr(0, origin.find("://") + 1) + location;
  }
  if (!location.empty() && location.front() == '/') {
    return origin + location;
  }
  const std::size_t q = base_url.find('?');
  const std::string path = base_url.substr(0, q);
  return path.substr(0, path.rfind('/') + 1) + location;
}

} // namespace oci2eif::registry
