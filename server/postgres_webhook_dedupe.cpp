// WebhookDedupe in PostgreSQL, shared by the replicas: webhook_deliveries(key, claimed_ms), one
// row per key claimed within the window. A claim is one INSERT … ON CONFLICT statement, which
// PostgreSQL runs atomically per key: of two replicas claiming one key, the later waits for the
// earlier's row and then finds it within the window, so exactly one gets a row back.
#include "server/postgres_database.hpp"
#include "server/webhook_dedupe.hpp"

namespace oci2eif::server {
namespace {

class PostgresWebhookDedupe final : public WebhookDedupe {
public:
  PostgresWebhookDedupe(std::shared_ptr<PostgresDatabase> db, Clock clock,
                        std::chrono::seconds window)
      : db_(std::move(db)), clock_(std::move(clock)), window_ms_(window.count() * 1000) {}

  bool claim(const std::string& key) override {
    const std::int64_t now = clock_();
    const std::string expired = std::to_string(now - window_ms_);
    // Inserts a new key, or takes over one claimed before the window; else changes nothing.
    const PgResult r = db_->exec("INSERT INTO webhook_deliveries(key, claimed_ms) VALUES($1, $2) "
                                 "ON CONFLICT (key) DO UPDATE SET claimed_ms = excluded.claimed_ms "
                                 "WHERE webhook_deliveries.claimed_ms <= $3",
                                 {key, std::to_string(now), expired});
    db_->exec("DELETE FROM webhook_deliveries WHERE claimed_ms <= $1", {expired});
    return r.affected() == 1;
  }

  void release(const std::string& key) override {
    db_->exec("DELETE FROM webhook_deliveries WHERE key = $1", {key});
  }

private:
  std::shared_ptr<PostgresDatabase> db_;
  Clock clock_;
  std::int64_t window_ms_;
};

} // namespace

std::unique_ptr<WebhookDedupe> open_postgres_webhook_dedupe(std::shared_ptr<PostgresDatabase> db,
                                                            Clock clock,
                                                            std::chrono::seconds window) {
  return std::make_unique<PostgresWebhookDedupe>(std::move(db), std::move(clock), window);
}

} // namespace oci2eif::server
