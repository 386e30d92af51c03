#include "server/s3_client.hpp"

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/sha.hpp"

#include <chrono>
#include <cstring>
#include <curl/curl.h>
#include <fstream>
#include <mutex>
#include <thread>

namespace oci2eif::server {
namespace {

constexpr int kAttempts = 3;
constexpr auto kFirstBackoff = std::chrono::milliseconds(200);
constexpr std::uint64_t kMinPartSize = 5ULL << 20; // S3's floor for all parts but the last

std::string sha256_hex(std::string_view data) {
  return to_hex(sha256(as_bytes(data)));
}

// Every byte outside [A-Za-z0-9-_.~] as %XX; '/' kept when `keep_slash` (key paths).
std::string percent_encode(std::string_view s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The text of each <tag>…</tag> in an S3 XML answer, entities decoded.
std::vector<std::string> xml_values(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">";
  const std::string close = "</" + tag + ">";
  for (auto at = xml.find(open); at != std::string::npos; at = xml.find(open, at)) {
    at += open.size();
    const auto end = xml.find(close, at);
    if (end == std::string::npos) {
      break;
    }
    std::string v = xml.substr(at, end - at);
    for (const auto& [entity, ch] : {std::pair<std::string, std::string>{"&lt;", "<"},
                                     {"&gt;", ">"},
                                     {"&quot;", "\""},
                                     {"&apos;", "'"},
                                     {"&amp;", "&"}}) {
      for (auto p = v.find(entity); p != std::string::npos; p = v.find(entity, p + 1)) {
        v.replace(p, entity.size(), ch);
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::string xml_value(const std::string& xml, const std::string& tag) {
  const auto values = xml_values(xml, tag);
  return values.empty() ? std::string() : values.front();
}

struct Upload {
  std::string_view data;
  std::size_t offset = 0;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, up->data.size() - up->offset);
  std::memcpy(buffer, up->data.data() + up->offset, n);
  up->offset += n;
  return n;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  static_cast<S3Client::Response*>(user)->body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  const std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos && strncasecmp(line.c_str(), "etag", colon) == 0 && colon == 4) {
    std::string v = line.substr(colon + 1);
    const auto first = v.find_first_not_of(" \t");
    const auto last = v.find_last_not_of(" \t\r\n");
    static_cast<S3Client::Response*>(user)->etag =
        first == std::string::npos ? "" : v.substr(first, last - first + 1);
  }
  return size * count;
}

struct CurlHandle {
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  ~CurlHandle() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
  }
  CurlHandle() = default;
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;
  void header(const std::string& line) { headers = curl_slist_append(headers, line.c_str()); }
};

// Methods, body and headers of one request on `c` (URL and credentials are set by the caller).
void set_request(CurlHandle& c, const S3Client::Request& r, Upload& upload) {
  c.header("x-amz-content-sha256: " + sha256_hex(r.body));
  if (!r.content_type.empty()) {
    c.header("Content-Type: " + r.content_type);
  }
  if (!r.range.empty()) {
    c.header("Range: bytes=" + r.range);
  }
  if (r.method == "PUT") {
    curl_easy_setopt(c.h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c.h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c.h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c.h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  } else if (r.method == "POST") {
    curl_easy_setopt(c.h, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(c.h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  } else if (r.method == "HEAD") {
    curl_easy_setopt(c.h, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET") {
    curl_easy_setopt(c.h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
}

} // namespace

S3Location parse_s3_location(const std::string& url) {
  const std::string scheme = "s3://";
  if (url.rfind(scheme, 0) != 0) {
    throw Error(ErrorCode::InvalidInput, "'" + url + "' is not an s3://BUCKET[/PREFIX] location");
  }
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  S3Location loc{rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash + 1)};
  const bool bucket_ok =
      loc.bucket.size() >= 3 && loc.bucket.size() <= 63 &&
      loc.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") == std::string::npos &&
      std::isalnum(static_cast<unsigned char>(loc.bucket.front())) != 0 &&
      std::isalnum(static_cast<unsigned char>(loc.bucket.back())) != 0;
  if (!bucket_ok) {
    throw Error(ErrorCode::InvalidInput,
                "'" + url + "': '" + loc.bucket +
                    "' is not an S3 bucket name (3-63 of a-z, 0-9, '.' and '-')");
  }
  if (loc.prefix.find("//") != std::string::npos || loc.prefix.front() == '/') {
    throw Error(ErrorCode::InvalidInput, "'" + url + "': the key prefix has an empty segment");
  }
  if (!loc.prefix.empty() && loc.prefix.back() != '/') {
    loc.prefix += '/';
  }
  return loc;
}

S3Client::S3Client(S3Options options, AwsCredentials credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (options_.endpoint.empty()) {
    options_.endpoint = "https://s3." + options_.region + ".amazonaws.com";
  }
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') {
    options_.endpoint.pop_back();
  }
  options_.part_size = std::max(options_.part_size, kMinPartSize);
}

std::string S3Client::url_of(const Request& r) const {
  const std::string path = r.key.empty() ? "" : "/" + percent_encode(r.key, true);
  std::string url;
  if (options_.path_style) {
    url = options_.endpoint + "/" + options_.location.bucket + path;
  } else {
    const auto host = options_.endpoint.find("://");
    url = options_.endpoint.substr(0, host + 3) + options_.location.bucket + "." +
          options_.endpoint.substr(host + 3) + (path.empty() ? "/" : path);
  }
  return r.query.empty() ? url : url + "?" + r.query;
}

void S3Client::fail(const std::string& what, const Response* response) const {
  std::string detail = what;
  if (response != nullptr) {
    const std::string code = xml_value(response->body, "Code");
    const std::string message = xml_value(response->body, "Message");
    detail += ": HTTP " + std::to_string(response->status) + (code.empty() ? "" : " " + code) +
              (message.empty() ? "" : ": " + message);
  }
  const bool unavailable = response == nullptr || response->status >= 500 ||
                           response->status == 403 || response->status == 401;
  throw Error(unavailable               ? ErrorCode::Unavailable
              : response->status == 404 ? ErrorCode::NotFound
                                        : ErrorCode::Io,
              "S3 " + options_.endpoint + " bucket " + options_.location.bucket + ": " + detail);
}

S3Client::Response S3Client::send(const Request& r) const {
  const std::string what = r.method + " " + (r.key.empty() ? "of the bucket" : "of key " + r.key);
  for (int attempt = 1;; ++attempt) {
    CurlHandle c;
    if (c.h == nullptr) {
      throw Error(ErrorCode::Internal, "curl_easy_init failed");
    }
    Response response;
    Upload upload{r.body};
    const std::string url = url_of(r);
    const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
    curl_easy_setopt(c.h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.h, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(c.h, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
    curl_easy_setopt(c.h, CURLOPT_PASSWORD, credentials_.secret_access_key.c_str());
    curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &response);
    if (!credentials_.session_token.empty()) {
      c.header("x-amz-security-token: " + credentials_.session_token);
    }
    set_request(c, r, upload);
    curl_easy_setopt(c.h, CURLOPT_HTTPHEADER, c.headers);
    const CURLcode rc = curl_easy_perform(c.h);
    curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &response.status);
    curl_off_t length = 0;
    curl_easy_getinfo(c.h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    response.content_length = length > 0 ? static_cast<std::uint64_t>(length) : 0;
    const bool retry = rc != CURLE_OK || response.status >= 500;
    if (!retry && response.status != 403) {
      return response;
    }
    if (!retry || attempt == kAttempts) {
      fail(rc != CURLE_OK ? what + ": " + curl_easy_strerror(rc) : what,
           rc != CURLE_OK ? nullptr : &response);
    }
    std::this_thread::sleep_for(kFirstBackoff * (1 << (attempt - 1)));
  }
}

void S3Client::put_object(const std::string& key, std::string_view content) const {
  const Response r = send({"PUT", key, "", content, "", ""});
  if (r.status != 200) {
    fail("PUT of key " + key, &r);
  }
}

void S3Client::put_file(const std::string& key, const std::filesystem::path& file) const {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) {
    throw Error(ErrorCode::Io, "cannot upload " + file.string() + ": " + ec.message());
  }
  if (size > options_.part_size) {
    put_multipart(key, file);
    return;
  }
  std::ifstream in(file, std::ios::binary);
  std::string content(size, '\0');
  if (!in.read(content.data(), static_cast<std::streamsize>(size))) {
    throw Error(ErrorCode::Io, "cannot read " + file.string() + " to upload it");
  }
  put_object(key, content);
}

void S3Client::put_multipart(const std::string& key, const std::filesystem::path& file) const {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::Io, "cannot open " + file.string() + " to upload it");
  }
  const std::string id = create_multipart(key);
  try {
    std::vector<std::string> etags;
    std::string part(options_.part_size, '\0');
    while (in) {
      in.read(part.data(), static_cast<std::streamsize>(part.size()));
      const auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) {
        break;
      }
      etags.push_back(upload_part(key, id, static_cast<int>(etags.size()) + 1,
                                  std::string_view(part.data(), n)));
    }
    if (in.bad()) {
      throw Error(ErrorCode::Io, "cannot read " + file.string() + " to upload it");
    }
    complete_multipart(key, id, etags);
  } catch (...) {
    try {
      abort_multipart(key, id);
    } catch (const Error&) { // NOLINT(bugprone-empty-catch): the first error is the one to report
    }
    throw;
  }
}

std::string S3Client::create_multipart(const std::string& key) const {
  const Response r = send({"POST", key, "uploads=", "", "", "application/octet-stream"});
  const std::string id = xml_value(r.body, "UploadId");
  if (r.status != 200 || id.empty()) {
    fail("CreateMultipartUpload of key " + key, &r);
  }
  return id;
}

std::string S3Client::upload_part(const std::string& key, const std::string& upload_id,
                                  int part_number, std::string_view data) const {
  const std::string query =
      "partNumber=" + std::to_string(part_number) + "&uploadId=" + percent_encode(upload_id, false);
  const Response r = send({"PUT", key, query, data, "", ""});
  if (r.status != 200 || r.etag.empty()) {
    fail("UploadPart " + std::to_string(part_number) + " of key " + key, &r);
  }
  return r.etag;
}

void S3Client::complete_multipart(const std::string& key, const std::string& upload_id,
                                  const std::vector<std::string>& etags) const {
  std::string xml = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
           "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  const Response r = send(
      {"POST", key, "uploadId=" + percent_encode(upload_id, false), xml, "", "application/xml"});
  // S3 may answer 200 and still report a failure in the body.
  if (r.status != 200 || r.body.find("<Error>") != std::string::npos) {
    fail("CompleteMultipartUpload of key " + key, &r);
  }
}

void S3Client::abort_multipart(const std::string& key, const std::string& upload_id) const {
  const Response r =
      send({"DELETE", key, "uploadId=" + percent_encode(upload_id, false), "", "", ""});
  if (r.status != 204 && r.status != 200 && r.status != 404) {
    fail("AbortMultipartUpload of key " + key, &r);
  }
}

std::size_t S3Client::get_range(const std::string& key, std::uint64_t offset,
                                std::span<std::uint8_t> out) const {
  if (out.empty()) {
    return 0;
  }
  const std::string range = std::to_string(offset) + "-" + std::to_string(offset + out.size() - 1);
  const Response r = send({"GET", key, "", "", range, ""});
  if (r.status == 416) {
    return 0; // the offset is at or past the end
  }
  if (r.status != 206 && r.status != 200) {
    fail("GET of key " + key, &r);
  }
  // A 200 is the whole object: the server ignored the range.
  const std::size_t skip = r.status == 200 ? static_cast<std::size_t>(offset) : 0;
  if (skip >= r.body.size()) {
    return 0;
  }
  const std::size_t n = std::min(out.size(), r.body.size() - skip);
  std::memcpy(out.data(), r.body.data() + skip, n);
  return n;
}

std::string S3Client::get_object(const std::string& key) const {
  Response r = send({"GET", key, "", "", "", ""});
  if (r.status != 200) {
    fail("GET of key " + key, &r);
  }
  return std::move(r.body);
}

std::optional<std::uint64_t> S3Client::head(const std::string& key) const {
  const Response r = send({"HEAD", key, "", "", "", ""});
  if (r.status == 404) {
    return std::nullopt;
  }
  if (r.status != 200) {
    fail("HEAD of key " + key, &r);
  }
  return r.content_length;
}

void S3Client::delete_object(const std::string& key) const {
  const Response r = send({"DELETE", key, "", "", "", ""});
  if (r.status != 204 && r.status != 200 && r.status != 404) {
    fail("DELETE of key " + key, &r);
  }
}

std::vector<std::string> S3Client::list(const std::string& prefix) const {
  std::vector<std::string> keys;
  std::string token;
  for (;;) {
    // Parameters in sorted order, as the signature needs (see the file comment).
    const std::string query =
        (token.empty() ? "" : "continuation-token=" + percent_encode(token, false) + "&") +
        "list-type=2&prefix=" + percent_encode(prefix, false);
    const Response r = send({"GET", "", query, "", "", ""});
    if (r.status != 200) {
      fail("ListObjectsV2 of prefix " + prefix, &r);
    }
    for (auto& key : xml_values(r.body, "Key")) {
      keys.push_back(std::move(key));
    }
    token = xml_value(r.body, "NextContinuationToken");
    if (xml_value(r.body, "IsTruncated") != "true" || token.empty()) {
      return keys;
    }
  }
}

std::optional<std::string> S3Client::check_health() const {
  try {
    const Response r = send({"HEAD", "", "", "", "", ""});
    if (r.status != 200) {
      fail("HEAD of the bucket", &r);
    }
    return std::nullopt;
  } catch (const Error& e) {
    return std::string(e.what());
  }
}

} // namespace oci2eif::server
