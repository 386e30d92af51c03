#include "tests/unit/s3_service.hpp"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

namespace oci2eif::test {
namespace {

S3Service load() {
  const char* dir = std::getenv("OCI2EIF_TEST_SERVICES");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error("OCI2EIF_TEST_SERVICES is not set: run the <s3> cases through ctest "
                             "(fixture s3), or see tests/unit/s3_service.hpp");
  }
  const std::string path = std::string(dir) + "/s3.json";
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read " + path + ": is tests/services/s3.py running?");
  }
  const auto j = nlohmann::json::parse(in);
  return {j.at("endpoint"), j.at("region"), j.at("access_key"), j.at("secret_key"), j.at("bucket")};
}

} // namespace

const S3Service& s3_service() {
  static const S3Service service = load();
  return service;
}

std::string fresh_s3_prefix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string prefix = "test-";
  for (int i = 0; i < 16; ++i) {
    prefix += hex[rng() % 16];
  }
  return prefix + "/";
}

std::shared_ptr<server::S3Client> s3_client(const std::string& prefix, const std::string& secret) {
  const S3Service& s = s3_service();
  server::S3Options options;
  options.location = {s.bucket, prefix};
  options.endpoint = s.endpoint;
  options.region = s.region;
  options.path_style = true;
  return std::make_shared<server::S3Client>(
      options, server::AwsCredentials{s.access_key, secret.empty() ? s.secret_key : secret, ""});
}

} // namespace oci2eif::test
