// Where the S3 backends' credentials come from: the environment, else the shared credentials
// file and its profiles, as the AWS CLI reads them; and that no error message carries a secret.
#include "core/error.hpp"
#include "server/aws_credentials.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

const std::string kFile = R"(# written by aws configure
[default]
aws_access_key_id = AKIDEFAULT
aws_secret_access_key = default-secret

; a CI role with temporary credentials
[ci]
aws_access_key_id=AKICI
aws_secret_access_key=ci-secret
aws_session_token = ci-token

[half]
aws_access_key_id = AKIHALF
)";

} // namespace

TEST_SUITE("server::AwsCredentials") {
  TEST_CASE("the environment's keys come first, with the session token when set") {
    const auto c = load_aws_credentials({{"AWS_ACCESS_KEY_ID", "AKIENV"},
                                         {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                         {"AWS_SESSION_TOKEN", "env-token"},
                                         {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"}});
    CHECK(c.access_key_id == "AKIENV");
    CHECK(c.secret_access_key == "env-secret");
    CHECK(c.session_token == "env-token");
  }

  TEST_CASE("only one of the two environment keys is refused, naming the missing one") {
    const std::string message = test::error_of([] {
      load_aws_credentials({{"AWS_SECRET_ACCESS_KEY", "env-secret"}});
    });
    CHECK(message == "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID");
    CHECK(test::code_of([] {
            load_aws_credentials({{"AWS_ACCESS_KEY_ID", "AKIENV"}});
          }) == ErrorCode::InvalidInput);
  }

  TEST_CASE("the shared file's default profile, or the one AWS_PROFILE names") {
    test::TempDir dir;
    test::write_file(dir / "credentials", as_bytes(kFile));
    const std::string file = (dir / "credentials").string();
    const auto d = load_aws_credentials({{"AWS_SHARED_CREDENTIALS_FILE", file}});
    CHECK(d.access_key_id == "AKIDEFAULT");
    CHECK(d.secret_access_key == "default-secret");
    CHECK(d.session_token.empty());
    const auto ci =
        load_aws_credentials({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "ci"}});
    CHECK(ci.access_key_id == "AKICI");
    CHECK(ci.secret_access_key == "ci-secret");
    CHECK(ci.session_token == "ci-token");
  }

  TEST_CASE("without AWS_SHARED_CREDENTIALS_FILE the file is ~/.aws/credentials") {
    test::TempDir home;
    std::filesystem::create_directories(home / ".aws");
    test::write_file(home / ".aws" / "credentials", as_bytes(kFile));
    const auto c = load_aws_credentials({{"HOME", home.path().string()}});
    CHECK(c.access_key_id == "AKIDEFAULT");
  }

  TEST_CASE("a missing profile, file or key is Unauthorized, naming where without secrets") {
    test::TempDir dir;
    test::write_file(dir / "credentials", as_bytes(kFile));
    const std::string file = (dir / "credentials").string();
    const std::string absent = test::error_of([&] {
      load_aws_credentials({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "prod"}});
    });
    CHECK(absent == "no AWS credentials: AWS_ACCESS_KEY_ID is not set and AWS credentials file " +
                        file + ", profile 'prod' does not exist");
    const std::string half = test::error_of([&] {
      load_aws_credentials({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "half"}});
    });
    CHECK(half == "AWS credentials file " + file +
                      ", profile 'half': needs both aws_access_key_id and aws_secret_access_key");
    CHECK(test::code_of([&] {
            load_aws_credentials({{"AWS_SHARED_CREDENTIALS_FILE", (dir / "none").string()}});
          }) == ErrorCode::Unauthorized);
    CHECK(absent.find("secret") == std::string::npos);
  }
}
