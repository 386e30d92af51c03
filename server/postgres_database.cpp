#include "server/postgres_database.hpp"

#include "server/postgres_schema.hpp"

#include <algorithm>
#include <libpq-fe.h>
#include <poll.h>
#include <utility>

namespace oci2eif::server {
namespace {

// Without a limit of its own, a connect to an address that drops packets waits for TCP's.
constexpr const char* kConnectTimeoutSeconds = "10";
constexpr int kTransactionAttempts = 5;

// libpq's messages end in a newline and may span lines ("…failed: Connection refused\n\tIs the
// server running…"): one line reads better in a log or a problem+json.
std::string trimmed(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\t') {
      c = ' ';
    }
  }
  while (!s.empty() && s.back() == ' ') {
    s.pop_back();
  }
  return s;
}

// The server's NOTICEs ("relation … already exists, skipping") are not for our users.
void ignore_notice(void*, const char*) {
}

// "HOST:PORT/DBNAME" from the URL's parts, with libpq's defaults for the absent ones.
std::string describe_server(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    // libpq's message names the part it could not read, not the password.
    const std::string reason = error ? trimmed(error) : "out of memory";
    PQfreemem(error);
    throw Error(ErrorCode::InvalidInput, "PostgreSQL URL: " + reason);
  }
  std::string host, port, dbname, user;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    const std::string_view key = o->keyword;
    const std::string value = o->val ? o->val : "";
    if (key == "host" || (key == "hostaddr" && host.empty())) {
      host = value;
    } else if (key == "port") {
      port = value;
    } else if (key == "dbname") {
      dbname = value;
    } else if (key == "user") {
      user = value;
    }
  }
  PQconninfoFree(options);
  return (host.empty() ? "localhost" : host) + ":" + (port.empty() ? "5432" : port) + "/" +
         (dbname.empty() ? user : dbname);
}

bool is_connection_sqlstate(std::string_view state) {
  // Class 08: connection exception; 57P01-03: the server is shutting down or starting up.
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

bool is_retryable_sqlstate(std::string_view state) {
  return state == kPgUniqueViolation || state == "40001" || state == "40P01";
}

// A pooled connection that looks fine may have been closed by the server while idle (a
// restart, an administrator's pg_terminate_backend): the server then sent its goodbye and an
// end of file. An idle pool connection listens to nothing, so anything to read means that.
bool still_open(PGconn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) {
    return false;
  }
  pollfd p{PQsocket(conn), POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

} // namespace

std::string pg_bytea(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

PgResult::~PgResult() {
  PQclear(result_);
}

PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

int PgResult::rows() const {
  return PQntuples(result_);
}

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(result_);
  return *n ? std::stoll(n) : 0;
}

bool PgResult::is_null(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string PgResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::optional<std::string> PgResult::opt_text(int row, int column) const {
  return is_null(row, column) ? std::nullopt : std::optional(text(row, column));
}

std::int64_t PgResult::integer(int row, int column) const {
  return is_null(row, column) ? 0 : std::stoll(PQgetvalue(result_, row, column));
}

std::optional<std::int64_t> PgResult::opt_integer(int row, int column) const {
  return is_null(row, column) ? std::nullopt : std::optional(integer(row, column));
}

bool PgResult::boolean(int row, int column) const {
  return !is_null(row, column) && PQgetvalue(result_, row, column)[0] == 't';
}

std::string PgResult::bytes(int row, int column) const {
  std::size_t length = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)), &length);
  if (!raw) {
    throw Error(ErrorCode::Internal, "PostgreSQL bytea value: out of memory");
  }
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

PgSession::~PgSession() {
  db_.give_back(conn_);
}

PgResult PgSession::exec(std::string_view sql, const PgParams& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
  }
  const std::string statement(sql);
  PGresult* r = PQexecParams(conn_, statement.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  PgResult result(r); // owns r from here on
  const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  const char* sqlstate = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = sqlstate ? sqlstate : "";
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return result;
  }
  const std::string reason = trimmed(PQerrorMessage(conn_));
  if (!r || PQstatus(conn_) != CONNECTION_OK || is_connection_sqlstate(state)) {
    throw db_.unavailable(reason);
  }
  throw PostgresSqlError(state, "PostgreSQL at " + db_.server_name() + ": `" +
                                    statement.substr(0, 60) + "`: " + reason);
}

PostgresDatabase::PostgresDatabase(const std::string& url, std::size_t pool_size)
    : url_(url), server_(describe_server(url)), pool_size_(std::max<std::size_t>(pool_size, 1)) {
}

PostgresDatabase::~PostgresDatabase() {
  for (PGconn* conn : idle_) {
    PQfinish(conn);
  }
}

Error PostgresDatabase::unavailable(std::string_view reason) const {
  return Error(ErrorCode::Unavailable,
               "PostgreSQL at " + server_ + ": " + trimmed(std::string(reason)));
}

pg_conn* PostgresDatabase::connect() const {
  // connect_timeout and application_name come first so that the URL's own values override them.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {kConnectTimeoutSeconds, "oci2eif", url_.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (!conn) {
    throw unavailable("out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string reason = trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    throw unavailable(reason);
  }
  PQsetNoticeProcessor(conn, ignore_notice, nullptr);
  return conn;
}

// A borrowed connection that broke is reset (or replaced); throws Unavailable if the server is
// still not there, and the connection's slot is freed.
pg_conn* PostgresDatabase::revive(pg_conn* conn) {
  if (conn && still_open(conn)) {
    return conn;
  }
  if (conn) {
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK) {
      return conn;
    }
    PQfinish(conn);
  }
  try {
    return connect();
  } catch (...) {
    std::lock_guard lock(mutex_);
    --open_;
    freed_.notify_one();
    throw;
  }
}

PgSession PostgresDatabase::session() {
  pg_conn* conn = nullptr;
  {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [&] { return !idle_.empty() || open_ < pool_size_; });
    if (!idle_.empty()) {
      conn = idle_.back();
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  return PgSession(*this, revive(conn));
}

void PostgresDatabase::give_back(pg_conn* conn) {
  // A connection left inside a transaction (an exception between BEGIN and COMMIT) would carry
  // it into the next borrower's statements.
  if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
    PQclear(PQexec(conn, "ROLLBACK"));
  }
  std::lock_guard lock(mutex_);
  idle_.push_back(conn);
  freed_.notify_one();
}

PgResult PostgresDatabase::exec(std::string_view sql, const PgParams& params) {
  return session().exec(sql, params);
}

void PostgresDatabase::transaction(const std::function<void(PgSession&)>& body) {
  for (int attempt = 1;; ++attempt) {
    PgSession s = session();
    try {
      s.exec("BEGIN");
      body(s);
      s.exec("COMMIT");
      return;
    } catch (const PostgresSqlError& e) {
      if (!is_retryable_sqlstate(e.sqlstate()) || attempt == kTransactionAttempts) {
        throw;
      }
    }
  }
}

std::optional<std::string> PostgresDatabase::check_health() {
  try {
    exec("SELECT 1");
    return std::nullopt;
  } catch (const Error& e) {
    return e.what();
  }
}

std::shared_ptr<PostgresDatabase> open_postgres_database(const std::string& url) {
  auto db = std::make_shared<PostgresDatabase>(url);
  migrate_postgres_schema(*db);
  return db;
}

} // namespace oci2eif::server
