// The throwaway servers CTest starts for the cases that need a real service (tests/services/):
// each writes $OCI2EIF_TEST_SERVICES/<service>.json, and a case reads it here. A case run
// without them fails, saying how to start them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace oci2eif::test {

// $OCI2EIF_TEST_SERVICES/<service>.json, parsed. Fails the running test case (naming the fixture
// and the script that starts the service) when it is absent.
nlohmann::json test_service(const std::string& service);

// A fresh schema t_<random hex> on the test PostgreSQL server, dropped (with its tables) when
// the object goes out of scope. url() connects with it as the search path, so the tables the
// code creates unqualified land in it and each case starts empty.
// The tag of cases that need both servers (the scale-out backends together): a
// TEST_CASE_TEMPLATE over it carries "<postgres+s3>" in its name, which tests/CMakeLists.txt
// gives both fixtures.
struct ScaleOutServices {};

class PostgresTestSchema {
public:
  PostgresTestSchema();
  ~PostgresTestSchema();
  PostgresTestSchema(const PostgresTestSchema&) = delete;
  PostgresTestSchema& operator=(const PostgresTestSchema&) = delete;

  const std::string& url() const { return url_; }
  const std::string& server_url() const { return server_url_; }
  const std::string& name() const { return name_; }

private:
  std::string server_url_;
  std::string name_;
  std::string url_;
};

} // namespace oci2eif::test
