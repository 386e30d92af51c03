#include "server/data_dir_sweep.hpp"

#include "core/file_stream.hpp"
#include "server/artifact_store.hpp"

#include <algorithm>
#include <system_error>

namespace oci2eif::server {
namespace {

namespace fs = std::filesystem;

// Bytes of regular files under `p` (or of `p` itself), counted before it is removed.
std::uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  if (fs::is_regular_file(fs::symlink_status(p, ec))) {
    const auto n = fs::file_size(p, ec);
    return ec ? 0 : n;
  }
  std::uint64_t total = 0;
  for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      const auto n = it->file_size(ec);
      total += ec ? 0 : n;
    }
  }
  return total;
}

// Removes `p` (a file or a whole tree); true when it went.
bool remove_counted(const fs::path& p, SweepReport& report) {
  const std::uint64_t bytes = size_of(p);
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) {
    return false;
  }
  report.bytes += bytes;
  return true;
}

// The entries of `dir` (none if it does not exist or cannot be read).
std::vector<fs::path> entries_of(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path());
  }
  return out;
}

// AtomicFileWriter temporaries directly in `dir` and in its subdirectories, `depth` levels down.
void sweep_temp_files(const fs::path& dir, int depth, SweepReport& report) {
  for (const fs::path& p : entries_of(dir)) {
    std::error_code ec;
    const auto status = fs::symlink_status(p, ec);
    if (fs::is_directory(status) && depth > 0) {
      sweep_temp_files(p, depth - 1, report);
    } else if (fs::is_regular_file(status) && is_atomic_temp_name(p.filename().string()) &&
               remove_counted(p, report)) {
      ++report.temp_files;
    }
  }
}

} // namespace

SweepReport sweep_crash_leftovers(const fs::path& data_dir) {
  SweepReport report;
  for (const fs::path& p : entries_of(data_dir / "scratch")) {
    if (remove_counted(p, report)) {
      ++report.scratch_dirs;
    }
  }
  for (const fs::path& p : entries_of(data_dir / "cache" / "tmp")) {
    if (remove_counted(p, report)) {
      ++report.temp_files;
    }
  }
  sweep_temp_files(data_dir / "artifacts", 1, report); // artifacts/<id>/<name>
  sweep_temp_files(data_dir / "kernels", 1, report);   // kernels/<name>/<file>
  return report;
}

std::vector<std::string> orphaned_artifact_dirs(const fs::path& artifacts_root, JobStore& jobs) {
  std::vector<std::string> orphans;
  for (const fs::path& p : entries_of(artifacts_root)) {
    const std::string id = p.filename().string();
    std::error_code ec;
    if (is_build_id(id) && fs::is_directory(fs::symlink_status(p, ec)) && !jobs.get(id)) {
      orphans.push_back(id);
    }
  }
  std::sort(orphans.begin(), orphans.end());
  return orphans;
}

} // namespace oci2eif::server
