// BuildLogStore in PostgreSQL, so that any replica can serve (and follow) a log that another
// replica's worker writes:
//
//   build_log_chunks(build_id, start_offset, data bytea), primary key (build_id, start_offset)
//
// One row per append; a chunk starts where the build's last chunk ends. The INSERT computes
// that offset itself, so two appenders (threads or replicas) that race compute the same one:
// the primary key refuses the later, which computes again after the earlier committed. Chunks
// therefore never overlap, and no reader sees a gap (a chunk is only placed after a committed
// one).
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "server/build_log_store.hpp"
#include "server/postgres_database.hpp"

namespace oci2eif::server {
namespace {

// An append refused this many times in a row means something other than racing appenders.
constexpr int kMaxAppendAttempts = 100;

class PostgresBuildLogStore final : public BuildLogStore {
public:
  explicit PostgresBuildLogStore(std::shared_ptr<PostgresDatabase> db) : db_(std::move(db)) {}

  void append(const std::string& build_id, std::string_view text) override {
    if (!is_build_id(build_id)) {
      throw Error(ErrorCode::InvalidInput, "'" + build_id + "' is not a build id");
    }
    if (text.empty()) {
      return; // an empty chunk would share its start with the next one
    }
    const PgParams params{build_id, pg_bytea(text)};
    for (int attempt = 1;; ++attempt) {
      try {
        db_->exec("INSERT INTO build_log_chunks(build_id, start_offset, data) "
                  "SELECT $1::text, COALESCE((SELECT start_offset + octet_length(data) "
                  "FROM build_log_chunks WHERE build_id = $1 "
                  "ORDER BY start_offset DESC LIMIT 1), 0), $2::bytea",
                  params);
        return;
      } catch (const PostgresSqlError& e) {
        if (e.sqlstate() != kPgUniqueViolation || attempt == kMaxAppendAttempts) {
          throw;
        }
      }
    }
  }

  std::string read(const std::string& build_id, std::uint64_t offset,
                   std::size_t max_bytes) override {
    if (!is_build_id(build_id) || max_bytes == 0) {
      return {};
    }
    // The chunk holding `offset` (the last one starting at or before it) and those after it,
    // up to `offset + max_bytes`: two index range scans, however long the log.
    const PgResult r =
        db_->exec("SELECT start_offset, data FROM build_log_chunks WHERE build_id = $1 "
                  "AND start_offset >= COALESCE((SELECT start_offset FROM build_log_chunks "
                  "WHERE build_id = $1 AND start_offset <= $2::bigint "
                  "ORDER BY start_offset DESC LIMIT 1), 0) "
                  "AND start_offset < $2::bigint + $3::bigint ORDER BY start_offset",
                  {build_id, std::to_string(offset), std::to_string(max_bytes)});
    std::string out;
    for (int row = 0; row < r.rows() && out.size() < max_bytes; ++row) {
      const auto start = static_cast<std::uint64_t>(r.integer(row, 0));
      const std::string data = r.bytes(row, 1);
      const std::uint64_t from = offset + out.size();
      if (start + data.size() <= from) {
        continue; // the chunk before `offset`, when `offset` is the end of the log
      }
      if (start > from) {
        break; // cannot happen (chunks are contiguous); never hand out bytes out of place
      }
      const std::size_t skip = static_cast<std::size_t>(from - start);
      out.append(data, skip, max_bytes - out.size());
    }
    return out;
  }

  void remove(const std::string& build_id) override {
    if (is_build_id(build_id)) {
      db_->exec("DELETE FROM build_log_chunks WHERE build_id = $1", {build_id});
    }
  }

private:
  std::shared_ptr<PostgresDatabase> db_;
};

} // namespace

std::unique_ptr<BuildLogStore> open_postgres_build_log_store(std::shared_ptr<PostgresDatabase> db) {
  return std::make_unique<PostgresBuildLogStore>(std::move(db));
}

} // namespace oci2eif::server
