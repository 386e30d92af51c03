// What the SQLite job store does beyond the JobStore contract (test_server_job_store.cpp): its
// file's journal mode, and the schema versions it migrates or refuses.
#include "server/job_store.hpp"
#include "tests/unit/job_store_requests.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <sqlite3.h>

using namespace oci2eif;
using namespace oci2eif::server;
using namespace oci2eif::test;

namespace {

struct Fixture {
  TempDir dir;
  std::string path = (dir / "jobs.db").string();
  std::unique_ptr<JobStore> open() { return open_sqlite_job_store(path, system_clock()); }
};

// Overwrites `length` bytes at `offset` of `path` with a fixed non-zero pattern.
void overwrite(const std::string& path, std::streamoff offset, std::size_t length) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekp(offset);
  const std::string junk(length, '\x5a');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
}

// A database whose builds fill many pages, closed (checkpointed) so the main file holds them.
void fill(Fixture& f, int builds) {
  auto store = f.open();
  for (int i = 0; i < builds; ++i) {
    store->enqueue(request(std::string(300, static_cast<char>('a' + i % 26)) + std::to_string(i)));
  }
}

} // namespace

TEST_SUITE("server::SqliteJobStore") {
  TEST_CASE("the file is in WAL mode") {
    Fixture f;
    auto store = f.open();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  TEST_CASE("a version 1 database (before pinned digests) is migrated on open, rows kept") {
    Fixture f;
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    // The version 1 schema as oci2eif wrote it, with one queued build.
    const char* v1 = R"sql(
      CREATE TABLE schema_version(version INTEGER NOT NULL);
      INSERT INTO schema_version(version) VALUES(1);
      CREATE TABLE builds(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL, request TEXT NOT NULL, image TEXT NOT NULL,
        idempotency_key TEXT UNIQUE, input_key TEXT, created_ms INTEGER NOT NULL,
        started_ms INTEGER, finished_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        worker_id TEXT, lease_expires_ms INTEGER, cancel_requested INTEGER NOT NULL DEFAULT 0,
        error_code TEXT, error_message TEXT, result TEXT);
      CREATE TABLE build_labels(build_id TEXT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
        key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(build_id, key));
      INSERT INTO builds(id, state, request, image, created_ms)
        VALUES('b-old', 'queued', '{"image":"a"}', 'a', 5);)sql";
    REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);

    auto store = f.open();
    const auto old = store->get("b-old");
    REQUIRE(old);
    CHECK(old->state == BuildState::Queued);
    CHECK(old->pinned_digest.empty());
    NewBuild pinned = request("c");
    pinned.pinned_digest = "sha256:bbbb";
    CHECK(store->get(store->enqueue(pinned).id)->pinned_digest == "sha256:bbbb");
    store.reset();
    CHECK(f.open()->get("b-old")); // and opens again as version 4
  }

  TEST_CASE(
      "a version 2 database gains the request of each idempotency key, unknown for old keys") {
    Fixture f;
    {
      auto store = f.open();
      NewBuild first = request("a");
      first.input_key = "sha256:k";
      const auto id = store->enqueue(first).id;
      NewBuild keyed = first;
      keyed.idempotency_key = "old-key";
      REQUIRE(store->reuse(keyed) == id);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "ALTER TABLE idempotency_keys DROP COLUMN request; "
                         "UPDATE schema_version SET version = 2",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto store = f.open();
    const auto old = store->find_by_idempotency_key("old-key");
    REQUIRE(old);
    CHECK(old->request_json.empty()); // not known: any request matches it
    NewBuild fresh = request("b", {}, "new-key");
    fresh.input_key = "sha256:k";
    REQUIRE(store->reuse(fresh));
    CHECK(store->find_by_idempotency_key("new-key")->request_json == fresh.request_json);
  }

  TEST_CASE("a database from another schema version is refused, naming both versions") {
    Fixture f;
    f.open();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE schema_version SET version = 9", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
    CHECK(test::error_of([&] {
            f.open();
          }).find("schema version 9; this oci2eif reads version 4") != std::string::npos);
  }

  TEST_CASE("a damaged database stops the start with Corrupt, naming the file and the way out") {
    Fixture f;
    fill(f, 300);
    overwrite(f.path, 3 * 4096, 8 * 4096); // pages 4-11: b-tree pages of the builds
    try {
      f.open();
      FAIL("a damaged database opened");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Corrupt);
      const std::string what = e.what();
      CHECK(what.find("database " + f.path + " is damaged (") == 0);
      CHECK(what.find("restore it from a backup, or move it aside") != std::string::npos);
    }
  }

  TEST_CASE("a file that is not a database at all is Corrupt too, not an I/O error") {
    Fixture f;
    fill(f, 1);
    overwrite(f.path, 0, 4096); // the header's magic string is gone
    try {
      f.open();
      FAIL("garbage opened as a database");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Corrupt);
      CHECK(std::string(e.what()).find("is damaged (file is not a database)") != std::string::npos);
    }
  }

  TEST_CASE("an intact database passes the check and keeps its builds") {
    Fixture f;
    fill(f, 300);
    CHECK(f.open()->list({}).builds.size() == 50); // a full first page of the 300
  }
}
