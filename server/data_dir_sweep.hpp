// What a daemon that died (kill -9, the OOM killer, power loss) leaves in its data directory,
// and what the next start does about it.
//
// Half-written files and a running build's scratch space are garbage once their writer is gone:
// the next daemon removes them, before any worker starts. That is only safe because `serve`
// holds the data directory's lock (one daemon per directory), so nothing else can be writing.
//
// Artifact directories of builds the job store does not know (jobs.db deleted, or restored from
// an older backup) are different: they may be all that is left of those builds, so they are
// reported and kept, for the operator to remove.
#pragma once

#include "server/job_store.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace oci2eif::server {

struct SweepReport {
  std::size_t scratch_dirs = 0; // DATA/scratch/<anything>: a build that was running
  std::size_t temp_files = 0;   // AtomicFileWriter temporaries, DATA/cache/tmp/<anything>
  std::uint64_t bytes = 0;      // what removing both freed
};

// Removes the leftovers above from `data_dir` (the embedded layout: scratch/, artifacts/,
// kernels/, cache/). Entries it cannot remove are skipped, not fatal: a start is not refused
// over garbage. The caller must hold the directory's lock.
SweepReport sweep_crash_leftovers(const std::filesystem::path& data_dir);

// Build ids with a directory under `artifacts_root` and no row in `jobs`, sorted.
std::vector<std::string> orphaned_artifact_dirs(const std::filesystem::path& artifacts_root,
                                                JobStore& jobs);

} // namespace oci2eif::server
