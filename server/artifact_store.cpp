#include "server/artifact_store.hpp"

#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/sha.hpp"

#include <algorithm>
#include <array>

namespace oci2eif::server {
namespace {

constexpr std::array<std::string_view, 6> kNames{"image.eif",  "pcr.json",   "describe.json",
                                                 "build.json", "rootfs.txt", "build.log"};

// Streams the file through SHA-256 (an EIF may be large: never read whole).
std::string sha256_of_file(const std::filesystem::path& path) {
  FileSource in(path);
  Hasher hasher(HashAlgorithm::Sha256);
  std::array<std::uint8_t, 1 << 16> buf;
  for (std::size_t n; (n = in.read(buf)) > 0;) {
    hasher.write(ByteView(buf.data(), n));
  }
  return "sha256:" + to_hex(hasher.finish());
}

} // namespace

bool is_build_id(std::string_view id) {
  return id.size() == 34 && id.substr(0, 2) == "b-" &&
         std::all_of(id.begin() + 2, id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ArtifactStore::ArtifactStore(std::filesystem::path root) : root_(std::move(root)) {
  std::filesystem::create_directories(root_);
}

bool ArtifactStore::is_artifact_name(std::string_view name) {
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

std::filesystem::path ArtifactStore::directory(const std::string& id) const {
  if (!is_build_id(id)) {
    throw Error(ErrorCode::InvalidInput, "'" + id + "' is not a build id");
  }
  const auto dir = root_ / id;
  std::filesystem::create_directories(dir);
  return dir;
}

ArtifactInfo ArtifactStore::publish(const std::string& id, const std::string& name,
                                    std::string_view content) const {
  AtomicFileWriter out(directory(id) / name);
  out.write(ByteView(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
  out.commit();
  return info(id, name);
}

ArtifactInfo ArtifactStore::info(const std::string& id, const std::string& name) const {
  const auto path = directory(id) / name;
  return {name, std::filesystem::file_size(path), sha256_of_file(path)};
}

std::optional<std::filesystem::path> ArtifactStore::find(const std::string& id,
                                                         const std::string& name) const {
  if (!is_build_id(id) || !is_artifact_name(name)) {
    return std::nullopt;
  }
  const auto path = root_ / id / name;
  return std::filesystem::is_regular_file(path) ? std::optional(path) : std::nullopt;
}

void ArtifactStore::remove(const std::string& id) const {
  if (is_build_id(id)) {
    std::filesystem::remove_all(root_ / id);
  }
}

} // namespace oci2eif::server
