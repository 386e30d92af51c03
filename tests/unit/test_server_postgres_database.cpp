// PostgresDatabase, the layer every PostgreSQL-backed store shares: statements, bytea, errors,
// transactions and the v1 schema the other stores rely on. Needs the test server (CTest's
// `postgres` fixture).
#include "core/error.hpp"
#include "server/postgres_database.hpp"
#include "tests/unit/test_services.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace oci2eif::test;

TEST_SUITE("server::PostgresDatabase") {
  TEST_CASE("bytea parameters and columns carry any byte, NUL included") {
    PostgresTestSchema schema;
    auto db = open_postgres_database(schema.url());
    std::string bytes;
    for (int b = 0; b < 256; ++b) {
      bytes += static_cast<char>(b);
    }
    db->exec("INSERT INTO build_log_chunks(build_id, start_offset, data) VALUES($1, $2, $3)",
             {"b-1", "0", pg_bytea(bytes)});
    const PgResult r = db->exec("SELECT data, start_offset FROM build_log_chunks");
    REQUIRE(r.rows() == 1);
    CHECK(r.bytes(0, 0) == bytes);
    CHECK(r.integer(0, 1) == 0);
  }

  TEST_CASE(
      "the schema holds the webhook, build log and kernel tables, each version recorded once") {
    PostgresTestSchema schema;
    auto db = open_postgres_database(schema.url());
    open_postgres_database(schema.url()); // a second start applies nothing again
    const PgResult r = db->exec(
        "INSERT INTO webhook_deliveries(key, claimed_ms) VALUES($1, $2) ON CONFLICT DO NOTHING",
        {"delivery-1", "1000"});
    CHECK(r.affected() == 1);
    CHECK(db->exec("INSERT INTO webhook_deliveries(key, claimed_ms) VALUES($1, $2) ON "
                   "CONFLICT DO NOTHING",
                   {"delivery-1", "2000"})
              .affected() == 0);
    const PgResult versions = db->exec("SELECT version FROM schema_migrations ORDER BY version");
    REQUIRE(versions.rows() == 4);
    CHECK(versions.integer(0, 0) == 1);
    CHECK(versions.integer(1, 0) == 2); // the shared kernel catalog
    CHECK(versions.integer(2, 0) == 3); // the request of each idempotency key
    CHECK(versions.integer(3, 0) == 4); // the labels of requests answered by reuse
    CHECK(db->exec("SELECT count(*) FROM kernels").integer(0, 0) == 0);
  }

  TEST_CASE("a rejected statement is Internal with its SQLSTATE, and NULL parameters are NULL") {
    PostgresTestSchema schema;
    auto db = open_postgres_database(schema.url());
    try {
      db->exec("SELEC 1");
      FAIL("a syntax error was accepted");
    } catch (const PostgresSqlError& e) {
      CHECK(e.code() == ErrorCode::Internal);
      CHECK(e.sqlstate() == "42601");
      CHECK(std::string(e.what()).find("`SELEC 1`") != std::string::npos);
    }
    const PgResult r = db->exec("SELECT $1::text IS NULL, $2::text", {std::nullopt, "x"});
    CHECK(r.boolean(0, 0));
    CHECK(r.opt_text(0, 1) == "x");
    CHECK(db->check_health() == std::nullopt);
  }

  TEST_CASE("a transaction that throws leaves nothing behind, and its connection is reusable") {
    PostgresTestSchema schema;
    PostgresDatabase db(schema.url(), 1); // one connection: the next call reuses it
    db.exec("CREATE TABLE t(v integer)");
    CHECK(code_of([&] {
            db.transaction([](PgSession& s) {
              s.exec("INSERT INTO t VALUES(1)");
              throw Error(ErrorCode::Cancelled, "stopped halfway");
            });
          }) == ErrorCode::Cancelled);
    CHECK(db.exec("SELECT count(*) FROM t").integer(0, 0) == 0);
    db.transaction([](PgSession& s) { s.exec("INSERT INTO t VALUES(2)"); });
    CHECK(db.exec("SELECT count(*) FROM t").integer(0, 0) == 1);
  }
}
