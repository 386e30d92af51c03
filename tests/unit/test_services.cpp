#include "tests/unit/test_services.hpp"

#include "server/postgres_database.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <random>

namespace oci2eif::test {

nlohmann::json test_service(const std::string& service) {
  const char* dir = std::getenv("OCI2EIF_TEST_SERVICES");
  const std::string how = "run it through ctest (the `" + service +
                          "` fixture starts it), or start one with `python3 "
                          "tests/services/" +
                          service + ".py start DIR` and set OCI2EIF_TEST_SERVICES=DIR";
  if (!dir || !*dir) {
    FAIL("this case needs a test " << service
                                   << " server and OCI2EIF_TEST_SERVICES is not set: " << how);
  }
  const std::filesystem::path file = std::filesystem::path(dir) / (service + ".json");
  std::ifstream in(file);
  if (!in) {
    FAIL("this case needs a test " << service << " server and " << file.string()
                                   << " does not exist: " << how);
  }
  return nlohmann::json::parse(in);
}

namespace {

std::string random_schema_name() {
  std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "t_";
  std::uint64_t v = rng();
  for (int i = 0; i < 16; ++i, v >>= 4) {
    name += kHex[v & 15];
  }
  return name;
}

} // namespace

PostgresTestSchema::PostgresTestSchema()
    : server_url_(test_service("postgres").at("url").get<std::string>()),
      name_(random_schema_name()) {
  server::PostgresDatabase(server_url_, 1).exec("CREATE SCHEMA " + name_);
  // libpq's `options` parameter, URL-encoded: "-csearch_path=<schema>".
  url_ = server_url_ + (server_url_.find('?') == std::string::npos ? "?" : "&") +
         "options=-csearch_path%3D" + name_;
}

PostgresTestSchema::~PostgresTestSchema() {
  try {
    server::PostgresDatabase(server_url_, 1).exec("DROP SCHEMA " + name_ + " CASCADE");
  } catch (const std::exception& e) {
    MESSAGE("dropping test schema " << name_ << ": " << e.what());
  }
}

} // namespace oci2eif::test
