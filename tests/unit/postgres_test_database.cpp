#include "tests/unit/postgres_test_database.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace oci2eif::test {
namespace {

// The server URL the fixture wrote, or "" when the tests run without it.
std::string fixture_url() {
  const char* dir = std::getenv("OCI2EIF_TEST_SERVICES");
  if (!dir) {
    return {};
  }
  std::ifstream in(std::filesystem::path(dir) / "postgres.json");
  if (!in) {
    return {};
  }
  return nlohmann::json::parse(in).at("url").get<std::string>();
}

// `url` (postgresql://user@host:port/dbname[?options]) naming the database `name` instead.
std::string with_database(const std::string& url, const std::string& name) {
  const auto query = url.find('?');
  const auto slash = url.rfind('/', query);
  return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}

} // namespace

PostgresTestDatabase::PostgresTestDatabase() : server_url_(fixture_url()) {
  REQUIRE_MESSAGE(!server_url_.empty(),
                  "no PostgreSQL for this test: run it through ctest (the `postgres` fixture "
                  "starts one), or set OCI2EIF_TEST_SERVICES to the directory where "
                  "`tests/services/postgres.py start DIR` wrote postgres.json");
  std::random_device random;
  name_ = "oci2eif_test_" + std::to_string(random()) + "_" + std::to_string(random());
  url_ = with_database(server_url_, name_);
  server::PostgresDatabase(server_url_, 1).exec("CREATE DATABASE " + name_);
}

PostgresTestDatabase::~PostgresTestDatabase() {
  try {
    // FORCE: pools opened by the test may still hold connections.
    server::PostgresDatabase(server_url_, 1)
        .exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    MESSAGE("could not drop the test database " << name_ << ": " << e.what());
  }
}

std::shared_ptr<server::PostgresDatabase> PostgresTestDatabase::open() const {
  return server::open_postgres_database(url_);
}

} // namespace oci2eif::test
