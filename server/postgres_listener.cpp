// PostgresDatabase::listen: a thread with a connection of its own that waits for NOTIFY.
//
// The thread polls the connection's socket with a short timeout rather than blocking in libpq,
// so that destroying the listener stops it within one timeout. A dropped connection is
// reconnected with a growing pause; on_notify is called after each (re)connect because a
// notification sent while no one listened is lost, and the caller should look for work itself.
#include "server/postgres_database.hpp"

#include <atomic>
#include <chrono>
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <thread>

namespace oci2eif::server {
namespace {

constexpr int kPollMs = 250;
constexpr int kMaxBackoffMs = 5000;

class Listener final : public PostgresListener {
public:
  Listener(PostgresDatabase& db, std::string channel, std::function<void()> on_notify)
      : db_(db), channel_(std::move(channel)), on_notify_(std::move(on_notify)),
        thread_([this] { run(); }) {}

  ~Listener() override {
    stop_ = true;
    thread_.join();
  }

private:
  void run() {
    int backoff_ms = 100;
    while (!stop_) {
      PGconn* conn = subscribe(backoff_ms == 100);
      if (!conn) {
        pause(backoff_ms);
        backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
        continue;
      }
      backoff_ms = 100;
      notify();
      receive(conn);
      PQfinish(conn);
    }
  }

  // A connection that LISTENs on the channel, or nullptr (logged: a warning for the first
  // failure of an outage, then quieter while it retries) if the server is not there.
  PGconn* subscribe(bool first_failure) {
    PGconn* conn = nullptr;
    try {
      conn = db_.connect();
      char* quoted = PQescapeIdentifier(conn, channel_.c_str(), channel_.size());
      PGresult* r = PQexec(conn, ("LISTEN " + std::string(quoted ? quoted : "")).c_str());
      PQfreemem(quoted);
      const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (!ok) {
        throw db_.unavailable("LISTEN " + channel_ + ": " + PQerrorMessage(conn));
      }
      return conn;
    } catch (const Error& e) {
      PQfinish(conn);
      spdlog::log(first_failure ? spdlog::level::warn : spdlog::level::debug,
                  "listening for work: {}", e.what());
      return nullptr;
    }
  }

  // Until the connection breaks or the listener stops.
  void receive(PGconn* conn) {
    while (!stop_) {
      pollfd p{PQsocket(conn), POLLIN, 0};
      if (poll(&p, 1, kPollMs) <= 0) {
        continue;
      }
      if (PQconsumeInput(conn) == 0) {
        spdlog::warn("listening for work: {}", db_.unavailable(PQerrorMessage(conn)).what());
        return;
      }
      bool any = false;
      while (PGnotify* n = PQnotifies(conn)) {
        PQfreemem(n);
        any = true;
      }
      if (any) { // one call for a burst: on_notify looks for all the work there is
        notify();
      }
    }
  }

  void notify() {
    try {
      on_notify_();
    } catch (const std::exception& e) {
      spdlog::error("listening for work: the handler failed: {}", e.what());
    }
  }

  void pause(int ms) {
    for (int waited = 0; waited < ms && !stop_; waited += kPollMs) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(kPollMs, ms - waited)));
    }
  }

  PostgresDatabase& db_;
  std::string channel_;
  std::function<void()> on_notify_;
  std::atomic<bool> stop_{false};
  std::thread thread_; // last: starts once the rest is set
};

} // namespace

std::unique_ptr<PostgresListener> PostgresDatabase::listen(const std::string& channel,
                                                           std::function<void()> on_notify) {
  return std::make_unique<Listener>(*this, channel, std::move(on_notify));
}

} // namespace oci2eif::server
