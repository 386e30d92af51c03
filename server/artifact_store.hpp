// ArtifactStore: a build's output files (docs/ARCHITECTURE.md, "Seams"): image.eif, pcr.json,
// describe.json, build.json, rootfs.txt, build.log and, for a signed build,
// provenance.intoto.jsonl, for a pushed one push.json, published when the build succeeds, read
// by GET /v1/builds/{id}/artifacts/{name}, deleted with the build.
//
// The embedded default keeps one directory per build (directory_artifact_store.cpp); a shared
// object store can take its place behind the same calls. Implementations are safe to call from
// several threads; the conformance suite (tests/unit/test_server_artifact_store.cpp) states
// what every one must do.
#pragma once

#include "server/job_store.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace oci2eif::server {

// A published artifact being read. Reads at any offset, so HTTP Range requests are served
// without a local copy (an object store answers them with ranged GETs).
class ArtifactReader {
public:
  virtual ~ArtifactReader() = default;
  virtual std::uint64_t size() const = 0;
  // Up to out.size() bytes from `offset`; 0 at or past the end. Throws Io naming the artifact.
  virtual std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
};

class ArtifactStore {
public:
  virtual ~ArtifactStore() = default;

  // Publishes `content` as artifact `name` of build `build_id`, atomically and durably: a reader
  // (or a crash) sees no artifact or the whole of it, never part; an artifact of that name is
  // replaced. Returns its size and digest. Throws InvalidInput for an id that is_build_id()
  // refuses or a name that is_artifact_name() refuses (so neither can name another place).
  virtual ArtifactInfo publish(const std::string& build_id, const std::string& name,
                               std::string_view content) = 0;

  // Publishes the local file `file` (an artifact too large to hold in memory: the EIF) the
  // same way; the file is consumed (moved, or copied and removed). `file_sha256` is its digest
  // ("sha256:<hex>"), which the caller computed when it checked the file: a store reports it
  // and names content by it rather than reading a GB again. Throws like publish(), and Io if
  // the file cannot be read.
  virtual ArtifactInfo publish_file(const std::string& build_id, const std::string& name,
                                    const std::filesystem::path& file,
                                    const std::string& file_sha256) = 0;

  // The artifact opened for reading, or nullptr for an id or name that is not ours or an
  // artifact never published. The reader keeps what it opened readable even if the build is
  // removed meanwhile.
  virtual std::unique_ptr<ArtifactReader> open(const std::string& build_id,
                                               const std::string& name) const = 0;

  // Deletes every artifact of the build; a build with none, or an id that is not ours, is no
  // error.
  virtual void remove(const std::string& build_id) = 0;

  // nullopt when the store can be written (for readiness checks), else why not.
  virtual std::optional<std::string> check_health() const = 0;
};

// The names an artifact may have; anything else is never published or served.
bool is_artifact_name(std::string_view name);

// True for ids the job store makes: "b-" and 32 lowercase hex digits.
bool is_build_id(std::string_view id);

// The embedded default, chosen by `oci2eif serve`: <root>/<build id>/<name>, each file written
// with temp file, fsync, rename, fsync of the directory. Creates `root`.
std::unique_ptr<ArtifactStore> open_directory_artifact_store(const std::filesystem::path& root);

class S3Client;

// The shared default of a scale-out deployment: artifacts in the client's bucket and prefix
// (s3_artifact_store.cpp documents the keys and what a reader guarantees).
std::unique_ptr<ArtifactStore> open_s3_artifact_store(std::shared_ptr<S3Client> s3);

} // namespace oci2eif::server
