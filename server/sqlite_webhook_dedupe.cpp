// WebhookDedupe in SQLite: webhook_deliveries(key, received_ms), one row per key claimed within
// the window; older rows are taken over by the next claim and pruned.
#include "server/sqlite_db.hpp"
#include "server/webhook_dedupe.hpp"

#include <mutex>

namespace oci2eif::server {
namespace {

class SqliteWebhookDedupe final : public WebhookDedupe {
public:
  SqliteWebhookDedupe(const std::string& path, Clock clock, std::chrono::seconds window)
      : db_(path), clock_(std::move(clock)), window_ms_(window.count() * 1000) {
    db_.exec("CREATE TABLE IF NOT EXISTS webhook_deliveries("
             "key TEXT PRIMARY KEY, received_ms INTEGER NOT NULL)");
  }

  bool claim(const std::string& key) override {
    std::lock_guard lock(mutex_);
    const std::int64_t now = clock_();
    // One statement: inserts a new key, or takes over one older than the window; else no change.
    SqliteStmt q(db_, "INSERT INTO webhook_deliveries(key, received_ms) VALUES(?1, ?2) "
                      "ON CONFLICT(key) DO UPDATE SET received_ms = excluded.received_ms "
                      "WHERE webhook_deliveries.received_ms <= ?3");
    q.bind(1, key).bind(2, now).bind(3, now - window_ms_).run();
    const bool claimed = db_.changes() == 1;
    SqliteStmt prune(db_, "DELETE FROM webhook_deliveries WHERE received_ms <= ?1");
    prune.bind(1, now - window_ms_).run();
    return claimed;
  }

  void release(const std::string& key) override {
    std::lock_guard lock(mutex_);
    SqliteStmt q(db_, "DELETE FROM webhook_deliveries WHERE key = ?1");
    q.bind(1, key).run();
  }

private:
  SqliteDb db_;
  Clock clock_;
  std::int64_t window_ms_;
  std::mutex mutex_; // one connection: its statements and changes() go together
};

} // namespace

std::unique_ptr<WebhookDedupe> open_sqlite_webhook_dedupe(const std::string& path, Clock clock,
                                                          std::chrono::seconds window) {
  return std::make_unique<SqliteWebhookDedupe>(path, std::move(clock), window);
}

} // namespace oci2eif::server
