// BuildLogStore: where each build's log is kept while it runs and after (GET /v1/builds/{id}/log,
// followed as it grows, and the build.log artifact). A seam (docs/ARCHITECTURE.md, "Seams"):
// the embedded default is one file per build in the data directory; replicas sharing a
// PostgreSQL database keep it there, so that a log can be followed from any replica.
//
// A log is a byte sequence that only grows (append) until it is removed; readers address it by
// byte offset, so a follower that has sent N bytes asks for what comes after N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace oci2eif::server {

class PostgresDatabase;

// Thread-safe: the worker running a build appends while API threads read.
class BuildLogStore {
public:
  virtual ~BuildLogStore() = default;

  // Adds `text` at the end of the build's log (created by the first append). One call's text is
  // never split by another call's, even from another process. Throws InvalidInput for an id that
  // is_build_id() refuses (so it cannot name another place).
  virtual void append(const std::string& build_id, std::string_view text) = 0;
  // At most `max_bytes` bytes of the log from byte `offset`: "" if the log has nothing there yet
  // (or does not exist, or the id is not a build id). A shorter answer is not the end of the
  // log: ask again from the new offset.
  virtual std::string read(const std::string& build_id, std::uint64_t offset,
                           std::size_t max_bytes) = 0;
  // Forgets the build's log; nothing happens for a log that does not exist.
  virtual void remove(const std::string& build_id) = 0;
};

// The whole log of `build_id` (read in slices until one comes back empty).
std::string read_whole_log(BuildLogStore& logs, const std::string& build_id);

// The embedded default, chosen by `oci2eif serve`: <dir>/<build id>.log, appended in place (the
// layout data directories have always had). Creates `dir`.
std::unique_ptr<BuildLogStore> open_directory_build_log_store(const std::filesystem::path& dir);

// Replicas sharing a PostgreSQL database: one row per append in build_log_chunks (the schema
// open_postgres_database() migrates). Throws what PostgresDatabase throws (Unavailable when
// the server cannot be reached).
std::unique_ptr<BuildLogStore> open_postgres_build_log_store(std::shared_ptr<PostgresDatabase> db);

} // namespace oci2eif::server
