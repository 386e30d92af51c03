// PostgresDatabase: the server's shared PostgreSQL database (scale-out mode, docs/ARCHITECTURE.md
// "Seams"): a small pool of libpq connections, parameterised statements with results as RAII
// values, transactions, a health probe and LISTEN. libpq-fe.h stays in the .cpp files.
//
// Errors: a server that cannot be reached (refused, timed out, dropped, shutting down) throws
// Error(Unavailable, "PostgreSQL at HOST:PORT/DBNAME: <reason>"); a statement the server rejects
// is a bug of ours and throws PostgresSqlError (code Internal) carrying the SQLSTATE. Messages
// name the server by host, port and database only: the URL may hold a password.
//
// Every parameter and every result value travels as text (bytea: see pg_bytea()).
#pragma once

#include "core/error.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace oci2eif::server {

// A statement's parameters, $1 first; nullopt is SQL NULL.
using PgParams = std::vector<std::optional<std::string>>;

// The text form of a bytea parameter ("\x" and hex), for bytes that may hold NUL.
std::string pg_bytea(std::string_view bytes);

// SQLSTATEs callers act on.
inline constexpr std::string_view kPgUniqueViolation = "23505";

// A statement the server rejected: a bug in our SQL, or a constraint a caller may handle.
class PostgresSqlError : public Error {
public:
  PostgresSqlError(std::string sqlstate, const std::string& message)
      : Error(ErrorCode::Internal, message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

private:
  std::string sqlstate_;
};

// The rows of one statement. Values are text; a NULL reads as "" (is_null tells them apart).
class PgResult {
public:
  explicit PgResult(pg_result* result) : result_(result) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  std::optional<std::string> opt_text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  std::optional<std::int64_t> opt_integer(int row, int column) const;
  bool boolean(int row, int column) const;
  // A bytea column's bytes.
  std::string bytes(int row, int column) const;

private:
  pg_result* result_ = nullptr;
};

class PostgresDatabase;

// One pooled connection, borrowed for a sequence of statements (a transaction); returned to the
// pool when destroyed. Not thread-safe: one thread uses a session at a time.
class PgSession {
public:
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  PgResult exec(std::string_view sql, const PgParams& params = {});

private:
  friend class PostgresDatabase;
  PgSession(PostgresDatabase& db, pg_conn* conn) : db_(db), conn_(conn) {}
  PostgresDatabase& db_;
  pg_conn* conn_;
};

// Runs in its own thread until destroyed (PostgresDatabase::listen).
class PostgresListener {
public:
  virtual ~PostgresListener() = default;
};

class PostgresDatabase {
public:
  // Connects lazily: no connection is opened until the first statement. Throws InvalidInput if
  // the URL cannot be parsed. `pool_size` bounds the connections open at once; a caller waits
  // for a free one beyond that.
  explicit PostgresDatabase(const std::string& url, std::size_t pool_size = 4);
  ~PostgresDatabase();
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  // One statement in its own (autocommit) transaction. Thread-safe.
  PgResult exec(std::string_view sql, const PgParams& params = {});

  // A connection of the pool for several statements. Thread-safe. A connection that broke is
  // reconnected here, on its next borrow.
  PgSession session();

  // Runs `body` in BEGIN … COMMIT on one connection, rolled back if it throws. A unique
  // violation, serialization failure or deadlock (another replica's concurrent write) runs
  // `body` again, up to a few times, so that `body` may read, decide and write as if alone.
  void transaction(const std::function<void(PgSession&)>& body);

  // nullopt when `SELECT 1` answers; else why not (naming the server, never the password).
  std::optional<std::string> check_health();

  // Calls `on_notify` from a thread of its own (with a connection of its own) for each NOTIFY on
  // `channel`, and once after each reconnect (notifications sent meanwhile are lost). Stops
  // when the returned listener is destroyed, within about a quarter second.
  std::unique_ptr<PostgresListener> listen(const std::string& channel,
                                           std::function<void()> on_notify);

  // "HOST:PORT/DBNAME", the server's name in messages and logs.
  const std::string& server_name() const { return server_; }

  // A new connection outside the pool, owned by the caller (PQfinish). Throws Unavailable.
  pg_conn* connect() const;
  // Error(Unavailable, "PostgreSQL at <server>: <reason>"), the reason on one line.
  Error unavailable(std::string_view reason) const;

private:
  friend class PgSession;
  void give_back(pg_conn* conn);
  pg_conn* revive(pg_conn* conn);

  std::string url_; // may hold a password: never in a message
  std::string server_;
  std::size_t pool_size_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<pg_conn*> idle_;
  std::size_t open_ = 0; // idle + borrowed
};

// Opens the database at `url` (a libpq URL or key=value string), checks that it answers, and
// brings its schema up to date (postgres_schema.hpp) under an advisory lock, so that replicas
// starting together migrate once. Throws Unavailable if the server cannot be reached.
std::shared_ptr<PostgresDatabase> open_postgres_database(const std::string& url);

} // namespace oci2eif::server
