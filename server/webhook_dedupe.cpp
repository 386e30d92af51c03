#include "server/webhook_dedupe.hpp"

#include "server/sqlite_db.hpp"

#include <mutex>

namespace oci2eif::server {

struct WebhookDedupe::Impl {
  Impl(const std::string& path, Clock c, std::chrono::seconds w)
      : db(path), clock(std::move(c)), window_ms(w.count() * 1000) {}
  SqliteDb db;
  Clock clock;
  std::int64_t window_ms;
  std::mutex mutex;
};

WebhookDedupe::WebhookDedupe(const std::string& path, Clock clock, std::chrono::seconds window)
    : impl_(std::make_unique<Impl>(path, std::move(clock), window)) {
  impl_->db.exec("CREATE TABLE IF NOT EXISTS webhook_deliveries("
                 "key TEXT PRIMARY KEY, received_ms INTEGER NOT NULL)");
}

WebhookDedupe::~WebhookDedupe() = default;

bool WebhookDedupe::claim(const std::string& key) {
  std::lock_guard lock(impl_->mutex);
  const std::int64_t now = impl_->clock();
  // One statement: inserts a new key, or takes over one older than the window; else no change.
  SqliteStmt q(impl_->db, "INSERT INTO webhook_deliveries(key, received_ms) VALUES(?1, ?2) "
                          "ON CONFLICT(key) DO UPDATE SET received_ms = excluded.received_ms "
                          "WHERE webhook_deliveries.received_ms <= ?3");
  q.bind(1, key).bind(2, now).bind(3, now - impl_->window_ms).run();
  const bool claimed = impl_->db.changes() == 1;
  SqliteStmt prune(impl_->db, "DELETE FROM webhook_deliveries WHERE received_ms <= ?1");
  prune.bind(1, now - impl_->window_ms).run();
  return claimed;
}

void WebhookDedupe::release(const std::string& key) {
  std::lock_guard lock(impl_->mutex);
  SqliteStmt q(impl_->db, "DELETE FROM webhook_deliveries WHERE key = ?1");
  q.bind(1, key).run();
}

} // namespace oci2eif::server
