// A fresh, empty PostgreSQL database for one test case, on the throwaway server the `postgres`
// CTest fixture starts (tests/services/postgres.py): its URL comes from
// $OCI2EIF_TEST_SERVICES/postgres.json. Dropped (connections and all) when the object goes.
#pragma once

#include "server/postgres_database.hpp"

#include <memory>
#include <string>

namespace oci2eif::test {

class PostgresTestDatabase {
public:
  // Fails the test case (REQUIRE) when no server was started for it, saying how to run it.
  PostgresTestDatabase();
  ~PostgresTestDatabase();
  PostgresTestDatabase(const PostgresTestDatabase&) = delete;
  PostgresTestDatabase& operator=(const PostgresTestDatabase&) = delete;

  // A new connection pool over the database, its schema migrated: each is like one replica.
  std::shared_ptr<server::PostgresDatabase> open() const;

private:
  std::string server_url_; // the server's own database, from which this one is made and dropped
  std::string name_;
  std::string url_;
};

} // namespace oci2eif::test
