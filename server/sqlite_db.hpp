// A thin RAII layer over SQLite for the server's stores: one connection, prepared statements
// with typed binds, and transactions. sqlite3.h stays in sqlite_db.cpp; failures throw
// oci2eif::Error (Io for the database, naming the file and SQLite's message).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace oci2eif::server {

class SqliteDb;

// One prepared statement; bind() positions start at 1. step() returns true while there is a
// row. Column reads are valid after a step() that returned true.
class SqliteStmt {
public:
  SqliteStmt(SqliteDb& db, std::string_view sql);
  ~SqliteStmt();
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  SqliteStmt& bind(int index, std::string_view text);
  SqliteStmt& bind(int index, std::int64_t value);
  SqliteStmt& bind(int index, std::nullopt_t);
  SqliteStmt& bind_opt(int index, const std::optional<std::string>& text);
  bool step();
  void run(); // step() through to the end

  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

private:
  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
public:
  // Opens (creating) the file in WAL mode with synchronous=FULL, a busy timeout and foreign keys.
  explicit SqliteDb(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows worth reading.
  void exec(const std::string& sql);
  // Throws Corrupt, naming the file and SQLite's first finding, unless `PRAGMA quick_check`
  // finds the file intact. Reads every page: meant for start-up, where a damaged file must stop
  // the daemon rather than let it answer 500 to every request it then serves.
  void require_intact();
  int changes() const;
  [[noreturn]] void fail(const std::string& what) const;
  sqlite3* handle() const { return db_; }

private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE (takes the write lock up front, so two writers never deadlock on upgrade);
// rolled back unless commit() is called.
class SqliteTransaction {
public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  void commit();

private:
  SqliteDb& db_;
  bool done_ = false;
};

} // namespace oci2eif::server
