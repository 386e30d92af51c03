// ArtifactStore: a build's output files, one directory per build (docs/ARCHITECTURE.md,
// "Seams"): <root>/<build id>/{image.eif, pcr.json, describe.json, build.json, rootfs.txt,
// build.log}. Each file is published atomically (temp, fsync, rename, fsync dir), so a crash
// leaves either no file or the whole file; a rebuild of the same id overwrites them.
#pragma once

#include "server/job_store.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace oci2eif::server {

class ArtifactStore {
public:
  explicit ArtifactStore(std::filesystem::path root);

  // The names an artifact may have; anything else is never served.
  static bool is_artifact_name(std::string_view name);

  // The build's directory, created. Throws InvalidInput for an id that is not one of ours
  // (so an id can never name a path outside the root).
  std::filesystem::path directory(const std::string& build_id) const;

  ArtifactInfo publish(const std::string& build_id, const std::string& name,
                       std::string_view content) const;
  // Size and sha256 of an artifact already written into directory() (the EIF, which the
  // pipeline writes atomically itself).
  ArtifactInfo info(const std::string& build_id, const std::string& name) const;

  // The artifact's path if it exists.
  std::optional<std::filesystem::path> find(const std::string& build_id,
                                            const std::string& name) const;
  void remove(const std::string& build_id) const;

private:
  std::filesystem::path root_;
};

// True for ids the job store makes: "b-" and 32 lowercase hex digits.
bool is_build_id(std::string_view id);

} // namespace oci2eif::server
