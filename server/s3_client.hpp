// S3Client: the few S3 calls the object-store backends need (s3_artifact_store.cpp,
// s3_blob_store.cpp), over libcurl with AWS Signature Version 4 (CURLOPT_AWS_SIGV4).
//
// libcurl 7.88 signs what it is given and no more, so the client (a) sends x-amz-content-sha256
// itself (the body's SHA-256; the empty body's on GET, HEAD and DELETE), (b) writes query
// parameters sorted and each with '=', and (c) percent-encodes every key byte outside
// [A-Za-z0-9-_.~/]. A session token goes in x-amz-security-token.
//
// Every call uses its own curl handle, so one client serves many threads. Connection failures
// and 5xx answers are retried (3 attempts, 200 ms then 400 ms apart); then they, and 403, throw
// Error(Unavailable, "S3 <endpoint> bucket <bucket>: <what failed>"). Secrets never appear in
// messages.
#pragma once

#include "server/aws_credentials.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oci2eif::server {

// Where objects live: a bucket and a key prefix ("" or ending in '/').
struct S3Location {
  std::string bucket;
  std::string prefix;
};

// "s3://BUCKET" or "s3://BUCKET/PREFIX" (a '/' is appended to a prefix without one). Throws
// InvalidInput naming the value when the scheme, bucket or prefix is malformed.
S3Location parse_s3_location(const std::string& url);

struct S3Options {
  S3Location location;
  std::string endpoint; // "http(s)://host[:port]"; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  bool path_style = false; // endpoint/bucket/key instead of bucket.host/key (needed for IPs)
  std::uint64_t part_size = 16ULL << 20; // put_file() goes multipart above this (>= 5 MiB)
};

class S3Client {
public:
  S3Client(S3Options options, AwsCredentials credentials);

  const S3Options& options() const { return options_; }

  // PUT of a whole object from memory.
  void put_object(const std::string& key, std::string_view content) const;
  // PUT of a local file: one request up to part_size, a multipart upload above it (aborted if
  // a part fails). Throws Io if the file cannot be read.
  void put_file(const std::string& key, const std::filesystem::path& file) const;
  // Up to out.size() bytes from `offset` into `out`; returns how many (0 at or past the end).
  // Throws NotFound for a missing key.
  std::size_t get_range(const std::string& key, std::uint64_t offset,
                        std::span<std::uint8_t> out) const;
  // The whole (small) object; throws NotFound for a missing key.
  std::string get_object(const std::string& key) const;
  // The object's size, or nullopt when there is none.
  std::optional<std::uint64_t> head(const std::string& key) const;
  // Deleting a missing key is no error.
  void delete_object(const std::string& key) const;
  // Every key starting with `prefix`, in the store's (lexicographic) order.
  std::vector<std::string> list(const std::string& prefix) const;

  // Multipart upload steps (put_file uses them): an upload id; a part's ETag; the object made.
  std::string create_multipart(const std::string& key) const;
  std::string upload_part(const std::string& key, const std::string& upload_id, int part_number,
                          std::string_view data) const;
  void complete_multipart(const std::string& key, const std::string& upload_id,
                          const std::vector<std::string>& etags) const;
  void abort_multipart(const std::string& key, const std::string& upload_id) const;

  // nullopt when the bucket answers a HEAD, else why not (for readiness checks).
  std::optional<std::string> check_health() const;

  // One signed request's answer; public for the request helper in s3_client.cpp.
  struct Response {
    long status = 0;
    std::string body;
    std::string etag;
    std::uint64_t content_length = 0;
  };
  struct Request {
    std::string method;
    std::string key;   // "" for the bucket itself
    std::string query; // sorted, every parameter with '='
    std::string_view body;
    std::string range; // "first-last" for a GET, or ""
    std::string content_type;
  };
  // Sends `request` (with retries); returns any HTTP answer below 500 but 403.
  Response send(const Request& request) const;

private:
  std::string url_of(const Request& request) const;
  [[noreturn]] void fail(const std::string& what, const Response* response) const;
  void put_multipart(const std::string& key, const std::filesystem::path& file) const;

  S3Options options_;
  AwsCredentials credentials_;
};

} // namespace oci2eif::server
