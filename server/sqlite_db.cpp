#include "server/sqlite_db.hpp"

#include "core/error.hpp"

#include <sqlite3.h>

namespace oci2eif::server {
namespace {

// How long a writer waits for another connection's write lock before giving up.
constexpr int kBusyTimeoutMs = 10000;

// A full disk reaches SQLite as SQLITE_FULL, or as an I/O error (a failed write, a WAL shared
// memory file that cannot grow, a journal that cannot be created) whose errno says so. The
// errno is only current after those two kinds of error.
ErrorCode code_of(sqlite3* db) {
  const int primary = sqlite3_extended_errcode(db) & 0xff;
  if (primary == SQLITE_FULL) {
    return ErrorCode::NoSpace;
  }
  if (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) {
    return code_for(std::error_code(sqlite3_system_errno(db), std::generic_category()));
  }
  return ErrorCode::Io;
}

// What an operator reads when the file cannot be used: what SQLite found, and the two ways out.
Error damaged(const std::string& path, const std::string& finding) {
  return Error(ErrorCode::Corrupt,
               "database " + path + " is damaged (" + finding +
                   "): restore it from a backup, or move it aside to start with no builds");
}

} // namespace

SqliteDb::SqliteDb(const std::string& path) : path_(path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    const ErrorCode code = db_ ? code_of(db_) : ErrorCode::Io;
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(code, "cannot open database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // The first statement reads the header: a file that is not a database fails here.
  if (const int wal = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      wal == SQLITE_NOTADB || wal == SQLITE_CORRUPT) {
    const std::string finding = sqlite3_errmsg(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw damaged(path, finding);
  } else if (wal != SQLITE_OK) {
    fail("`PRAGMA journal_mode=WAL`");
  }
  // FULL: a commit is on disk before the call returns, so an accepted build survives power loss.
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
}

SqliteDb::~SqliteDb() {
  sqlite3_close_v2(db_);
}

void SqliteDb::exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("`" + sql.substr(0, 60) + "`");
  }
}

void SqliteDb::require_intact() {
  std::string finding;
  sqlite3_stmt* check = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA quick_check(1)", -1, &check, nullptr);
  if (rc == SQLITE_OK && (rc = sqlite3_step(check)) == SQLITE_ROW) {
    finding = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
  }
  if (rc != SQLITE_ROW) { // a file damaged enough that the check itself cannot read it
    finding = sqlite3_errmsg(db_);
  }
  sqlite3_finalize(check);
  if (finding != "ok") {
    throw damaged(path_, finding);
  }
}

int SqliteDb::changes() const {
  return sqlite3_changes(db_);
}

void SqliteDb::fail(const std::string& what) const {
  throw Error(code_of(db_), "database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

SqliteStmt::SqliteStmt(SqliteDb& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    db.fail("cannot prepare `" + std::string(sql.substr(0, 60)) + "`");
  }
}

SqliteStmt::~SqliteStmt() {
  sqlite3_finalize(stmt_);
}

SqliteStmt& SqliteStmt::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    db_.fail("bind");
  }
  return *this;
}

SqliteStmt& SqliteStmt::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) {
    db_.fail("bind");
  }
  return *this;
}

SqliteStmt& SqliteStmt::bind(int index, std::nullopt_t) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) {
    db_.fail("bind");
  }
  return *this;
}

SqliteStmt& SqliteStmt::bind_opt(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind(index, std::nullopt);
}

bool SqliteStmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  db_.fail("step");
}

void SqliteStmt::run() {
  while (step()) {
  }
}

std::string SqliteStmt::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}

std::int64_t SqliteStmt::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

bool SqliteStmt::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

SqliteTransaction::~SqliteTransaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) { // NOLINT(bugprone-empty-catch): nothing sane to do in a destructor
    }
  }
}

void SqliteTransaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

} // namespace oci2eif::server
