// ArtifactStore as one directory per build:
//
//   <root>/<build id>/<artifact name>
//
// Files are written with AtomicFileWriter (temp file in the same directory, fsync, rename,
// fsync of the directory); a file the build wrote elsewhere is renamed in when it is on the
// same filesystem and copied the same way when not.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "server/artifact_store.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace oci2eif::server {
namespace {

// An artifact file, opened once: a later remove() unlinks the name, not what is being read.
class FileArtifactReader final : public ArtifactReader {
public:
  explicit FileArtifactReader(const std::filesystem::path& path) : file_(path) {}

  std::uint64_t size() const override { return file_.size(); }
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    return file_.read_at(offset, out);
  }

private:
  FileSource file_;
};

class DirectoryArtifactStore final : public ArtifactStore {
public:
  explicit DirectoryArtifactStore(std::filesystem::path root) : root_(std::move(root)) {
    std::filesystem::create_directories(root_);
  }

  ArtifactInfo publish(const std::string& id, const std::string& name,
                       std::string_view content) override {
    const auto path = target(id, name);
    AtomicFileWriter out(path);
    out.write(ByteView(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
    out.commit();
    return info_of(path, name);
  }

  ArtifactInfo publish_file(const std::string& id, const std::string& name,
                            const std::filesystem::path& file,
                            const std::string& file_sha256) override {
    const auto path = target(id, name);
    validate_digest(file_sha256, "artifact " + name + " of build " + id);
    std::error_code ec;
    std::filesystem::rename(file, path, ec);
    if (!ec) {
      fsync_directory(path.parent_path());
    } else if (ec == std::errc::cross_device_link) {
      copy_durably(file, path);
      std::filesystem::remove(file);
    } else {
      throw Error(code_for(ec), "artifact " + name + " of build " + id + ": cannot move " +
                                    file.string() + " into place: " + ec.message());
    }
    return {name, std::filesystem::file_size(path), file_sha256};
  }

  std::unique_ptr<ArtifactReader> open(const std::string& id,
                                       const std::string& name) const override {
    if (!is_build_id(id) || !is_artifact_name(name)) {
      return nullptr;
    }
    const auto path = root_ / id / name;
    if (!std::filesystem::is_regular_file(path)) {
      return nullptr;
    }
    return std::make_unique<FileArtifactReader>(path);
  }

  void remove(const std::string& id) override {
    if (is_build_id(id)) {
      std::filesystem::remove_all(root_ / id);
    }
  }

  std::optional<std::string> check_health() const override {
    std::error_code ec;
    if (!std::filesystem::is_directory(root_, ec)) {
      return "artifact directory " + root_.string() + " is missing";
    }
    if (::access(root_.c_str(), W_OK | X_OK) != 0) {
      return "artifact directory " + root_.string() + " is not writable: " + std::strerror(errno);
    }
    return std::nullopt;
  }

private:
  // <root>/<id>/<name>, its directory created; throws InvalidInput for a foreign id or name.
  std::filesystem::path target(const std::string& id, const std::string& name) const {
    if (!is_build_id(id)) {
      throw Error(ErrorCode::InvalidInput, "'" + id + "' is not a build id");
    }
    if (!is_artifact_name(name)) {
      throw Error(ErrorCode::InvalidInput,
                  "build " + id + ": '" + name + "' is not an artifact name");
    }
    const auto dir = root_ / id;
    std::filesystem::create_directories(dir);
    return dir / name;
  }

  static void copy_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
    FileSource in(from);
    AtomicFileWriter out(to);
    std::array<std::uint8_t, 1 << 16> buf;
    for (std::size_t n; (n = in.read(buf)) > 0;) {
      out.write(ByteView(buf.data(), n));
    }
    out.commit();
  }

  static ArtifactInfo info_of(const std::filesystem::path& path, const std::string& name) {
    return {name, std::filesystem::file_size(path), sha256_file_digest(path)};
  }

  std::filesystem::path root_;
};

} // namespace

std::unique_ptr<ArtifactStore> open_directory_artifact_store(const std::filesystem::path& root) {
  return std::make_unique<DirectoryArtifactStore>(root);
}

} // namespace oci2eif::server
