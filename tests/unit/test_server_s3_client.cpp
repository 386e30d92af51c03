// S3Client: s3:// locations, and against a real S3 server (Swift's s3api, tests/services/s3.py;
// the cases named "<s3>"): refused credentials, missing keys, listing and multipart uploads.
#include "core/error.hpp"
#include "server/s3_client.hpp"
#include "tests/unit/s3_service.hpp"
#include "tests/unit/store_backends.hpp"
#include "tests/unit/test_support.hpp"

#include <array>
#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;

TEST_SUITE("server::S3Client") {
  TEST_CASE("an s3:// location is a bucket and a prefix ending in '/'") {
    const auto bare = parse_s3_location("s3://eif-artifacts");
    CHECK(bare.bucket == "eif-artifacts");
    CHECK(bare.prefix.empty());
    const auto deep = parse_s3_location("s3://eif-artifacts/prod/eu");
    CHECK(deep.bucket == "eif-artifacts");
    CHECK(deep.prefix == "prod/eu/");
    CHECK(parse_s3_location("s3://eif-artifacts/prod/").prefix == "prod/");
  }

  TEST_CASE("a malformed location is refused, naming it") {
    CHECK(test::error_of([] { parse_s3_location("https://eif-artifacts"); }) ==
          "'https://eif-artifacts' is not an s3://BUCKET[/PREFIX] location");
    CHECK(test::error_of([] { parse_s3_location("s3://Eif_Artifacts/x"); }) ==
          "'s3://Eif_Artifacts/x': 'Eif_Artifacts' is not an S3 bucket name (3-63 of a-z, 0-9, "
          "'.' and '-')");
    CHECK(test::code_of([] { parse_s3_location("s3://"); }) == ErrorCode::InvalidInput);
    CHECK(test::code_of([] { parse_s3_location("s3://bucket//x"); }) == ErrorCode::InvalidInput);
  }

  TEST_CASE_TEMPLATE("a wrong secret is Unavailable, naming the endpoint and not the secret",
                     Service, test::S3Service) {
    const std::string wrong = "wrong-" + test::s3_service().secret_key;
    const auto s3 = test::s3_client(test::fresh_s3_prefix(), wrong);
    std::string message;
    try {
      s3->put_object("k", "abc");
      FAIL("a wrong secret was accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Unavailable);
      message = e.what();
    }
    CHECK(message.find("S3 " + test::s3_service().endpoint + " bucket " +
                       test::s3_service().bucket + ": PUT of key ") == 0);
    CHECK(message.find("403") != std::string::npos);
    CHECK(message.find(test::s3_service().secret_key) == std::string::npos);
    const auto health = s3->check_health();
    REQUIRE(health);
    CHECK(health->find(test::s3_service().endpoint) != std::string::npos);
    CHECK(health->find(test::s3_service().secret_key) == std::string::npos);
    CHECK_FALSE(test::s3_client("")->check_health());
  }

  TEST_CASE_TEMPLATE("a server that does not answer is Unavailable, naming the endpoint", Service,
                     test::S3Service) {
    S3Options options;
    options.location = {"bucket", ""};
    options.endpoint = "http://127.0.0.1:1";
    options.path_style = true;
    const S3Client s3(options, {"id", "secret", ""});
    const auto health = s3.check_health();
    REQUIRE(health);
    CHECK(health->find("S3 http://127.0.0.1:1 bucket bucket: HEAD of the bucket: ") == 0);
    CHECK(test::code_of([&] { s3.head("k"); }) == ErrorCode::Unavailable);
  }

  TEST_CASE_TEMPLATE("objects are put, read in ranges, listed and deleted", Service,
                     test::S3Service) {
    const std::string p = test::fresh_s3_prefix();
    const auto s3 = test::s3_client(p);
    s3->put_object(p + "a/1", "0123456789");
    s3->put_object(p + "a/2", "");
    s3->put_object(p + "b/1", "x");
    CHECK(s3->head(p + "a/1") == std::optional<std::uint64_t>(10));
    CHECK_FALSE(s3->head(p + "a/3"));
    std::array<std::uint8_t, 4> buf{};
    CHECK(s3->get_range(p + "a/1", 8, buf) == 2);
    CHECK(buf[0] == '8');
    CHECK(s3->get_range(p + "a/1", 10, buf) == 0);
    CHECK(test::code_of([&] { s3->get_object(p + "a/3"); }) == ErrorCode::NotFound);
    CHECK(s3->list(p + "a/") == std::vector<std::string>{p + "a/1", p + "a/2"});
    s3->delete_object(p + "a/1");
    s3->delete_object(p + "a/1"); // already gone: no error
    CHECK(s3->list(p) == std::vector<std::string>{p + "a/2", p + "b/1"});
  }
}
