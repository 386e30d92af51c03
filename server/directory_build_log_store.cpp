// BuildLogStore as one file per build:
//
//   <dir>/<build id>.log
//
// Appends are not fsynced: a log is a diagnostic, and a crash loses at most its last lines.
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "server/build_log_store.hpp"

#include <fstream>
#include <mutex>

namespace oci2eif::server {
namespace {

class DirectoryBuildLogStore final : public BuildLogStore {
public:
  explicit DirectoryBuildLogStore(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }

  void append(const std::string& build_id, std::string_view text) override {
    if (!is_build_id(build_id)) {
      throw Error(ErrorCode::InvalidInput, "'" + build_id + "' is not a build id");
    }
    // One writer at a time: two workers' attempts at one build must not interleave a line.
    std::lock_guard lock(mutex_);
    std::ofstream out(path_of(build_id), std::ios::binary | std::ios::app);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      throw_errno("cannot append to the log " + path_of(build_id).string());
    }
  }

  std::string read(const std::string& build_id, std::uint64_t offset,
                   std::size_t max_bytes) override {
    if (!is_build_id(build_id)) {
      return {};
    }
    std::ifstream in(path_of(build_id), std::ios::binary);
    if (!in || !in.seekg(static_cast<std::streamoff>(offset))) {
      return {};
    }
    std::string out(max_bytes, '\0');
    in.read(out.data(), static_cast<std::streamsize>(max_bytes));
    out.resize(static_cast<std::size_t>(in.gcount()));
    return out;
  }

  void remove(const std::string& build_id) override {
    if (is_build_id(build_id)) {
      std::error_code ec; // already gone is fine
      std::filesystem::remove(path_of(build_id), ec);
    }
  }

private:
  std::filesystem::path path_of(const std::string& build_id) const {
    return dir_ / (build_id + ".log");
  }

  std::filesystem::path dir_;
  std::mutex mutex_;
};

} // namespace

std::unique_ptr<BuildLogStore> open_directory_build_log_store(const std::filesystem::path& dir) {
  return std::make_unique<DirectoryBuildLogStore>(dir);
}

} // namespace oci2eif::server
