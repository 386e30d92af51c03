// ArtifactStore in an S3 bucket, shared by every replica of the service:
//
//   <prefix>artifacts/<build id>/sha256-<hex>   the content; immutable, named by its digest
//   <prefix>artifacts/<build id>/<name>.json    {"sha256": "sha256:<hex>", "size": N}
//
// The content is uploaded first (multipart above the client's part size), the small pointer
// object last, so an artifact is visible only once complete: S3 makes a single PUT atomic, and
// a reader follows the pointer to content that already exists. Publishing a name again writes
// new content beside the old and moves the pointer; the old content stays until remove().
//
// A reader fetches ranges of the content with a read-ahead window (1 MiB), so the 64 KiB reads
// of an HTTP download cost one request per window. What it guarantees if the build is removed
// while it reads: open() fetches the first window, so an artifact of up to 1 MiB (every one
// but the EIF) stays readable whole; of a larger one, the window last fetched stays readable
// and a read outside it throws Io naming the artifact (the content is gone from the bucket).
#include "core/digest.hpp"
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "server/s3_client.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

namespace oci2eif::server {
namespace {

constexpr std::size_t kReadAhead = 1 << 20;

class S3ArtifactReader final : public ArtifactReader {
public:
  S3ArtifactReader(std::shared_ptr<S3Client> s3, std::string key, std::string subject,
                   std::uint64_t size)
      : s3_(std::move(s3)), key_(std::move(key)), subject_(std::move(subject)), size_(size) {
    fill(0);
  }

  std::uint64_t size() const override { return size_; }

  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset >= size_ || out.empty()) {
      return 0;
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    if (offset < window_start_ || offset >= window_start_ + window_.size()) {
      fill(offset);
    }
    const std::size_t from = static_cast<std::size_t>(offset - window_start_);
    const std::size_t n = std::min(out.size(), window_.size() - from);
    std::memcpy(out.data(), window_.data() + from, n);
    return n;
  }

private:
  // Replaces the window with the bytes from `offset` (REQUIRES: offset < size_).
  void fill(std::uint64_t offset) {
    std::vector<std::uint8_t> bytes(
        static_cast<std::size_t>(std::min<std::uint64_t>(kReadAhead, size_ - offset)));
    std::size_t n = 0;
    try {
      n = s3_->get_range(key_, offset, bytes);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::NotFound) {
        throw Error(ErrorCode::Io, subject_ + ": removed while being read (" + e.what() + ")");
      }
      throw;
    }
    if (n == 0 && !bytes.empty()) {
      throw Error(ErrorCode::Io, subject_ + ": the stored content ends at " +
                                     std::to_string(offset) + " of " + std::to_string(size_) +
                                     " bytes");
    }
    bytes.resize(n);
    window_ = std::move(bytes);
    window_start_ = offset;
  }

  std::shared_ptr<S3Client> s3_;
  std::string key_;
  std::string subject_;
  std::uint64_t size_;
  std::mutex mutex_;
  std::vector<std::uint8_t> window_;
  std::uint64_t window_start_ = 0;
};

class S3ArtifactStore final : public ArtifactStore {
public:
  explicit S3ArtifactStore(std::shared_ptr<S3Client> s3) : s3_(std::move(s3)) {}

  ArtifactInfo publish(const std::string& id, const std::string& name,
                       std::string_view content) override {
    check(id, name);
    const ArtifactInfo info{
        name, content.size(),
        sha256_digest(
            ByteView(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()))};
    s3_->put_object(content_key(id, info.sha256), content);
    write_pointer(id, info);
    return info;
  }

  ArtifactInfo publish_file(const std::string& id, const std::string& name,
                            const std::filesystem::path& file,
                            const std::string& file_sha256) override {
    check(id, name);
    validate_digest(file_sha256, "artifact " + name + " of build " + id);
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    if (ec) {
      throw Error(code_for(ec), "artifact " + name + " of build " + id + ": cannot read " +
                                    file.string() + ": " + ec.message());
    }
    const ArtifactInfo info{name, size, file_sha256}; // it names the content's key
    s3_->put_file(content_key(id, info.sha256), file);
    write_pointer(id, info);
    std::filesystem::remove(file, ec);
    return info;
  }

  std::unique_ptr<ArtifactReader> open(const std::string& id,
                                       const std::string& name) const override {
    if (!is_build_id(id) || !is_artifact_name(name)) {
      return nullptr;
    }
    std::string pointer;
    try {
      pointer = s3_->get_object(build_prefix(id) + name + ".json");
    } catch (const Error& e) {
      if (e.code() == ErrorCode::NotFound) {
        return nullptr;
      }
      throw;
    }
    const std::string subject = "artifact " + name + " of build " + id;
    const auto [digest, size] = parse_pointer(pointer, subject);
    try {
      return std::make_unique<S3ArtifactReader>(s3_, content_key(id, digest), subject, size);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::Io) {
        return nullptr; // removed between the pointer and the content
      }
      throw;
    }
  }

  void remove(const std::string& id) override {
    if (!is_build_id(id)) {
      return;
    }
    auto keys = s3_->list(build_prefix(id));
    // Pointers first: a reader never finds a pointer whose content is already gone.
    std::stable_partition(keys.begin(), keys.end(), [](const std::string& k) {
      return k.size() > 5 && k.compare(k.size() - 5, 5, ".json") == 0;
    });
    for (const auto& key : keys) {
      s3_->delete_object(key);
    }
  }

  std::optional<std::string> check_health() const override { return s3_->check_health(); }

private:
  std::string build_prefix(const std::string& id) const {
    return s3_->options().location.prefix + "artifacts/" + id + "/";
  }
  std::string content_key(const std::string& id, const std::string& digest) const {
    return build_prefix(id) + "sha256-" + digest.substr(7);
  }

  static void check(const std::string& id, const std::string& name) {
    if (!is_build_id(id)) {
      throw Error(ErrorCode::InvalidInput, "'" + id + "' is not a build id");
    }
    if (!is_artifact_name(name)) {
      throw Error(ErrorCode::InvalidInput,
                  "build " + id + ": '" + name + "' is not an artifact name");
    }
  }

  void write_pointer(const std::string& id, const ArtifactInfo& info) const {
    const nlohmann::json pointer{{"sha256", info.sha256}, {"size", info.size}};
    s3_->put_object(build_prefix(id) + info.name + ".json", pointer.dump());
  }

  static std::pair<std::string, std::uint64_t> parse_pointer(const std::string& text,
                                                             const std::string& subject) {
    try {
      const auto j = nlohmann::json::parse(text);
      std::string digest = j.at("sha256").get<std::string>();
      validate_digest(digest, subject);
      return {std::move(digest), j.at("size").get<std::uint64_t>()};
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::Corrupt, subject + ": the stored pointer is not " +
                                          "{\"sha256\", \"size\"} JSON: " + e.what());
    }
  }

  std::shared_ptr<S3Client> s3_;
};

} // namespace

std::unique_ptr<ArtifactStore> open_s3_artifact_store(std::shared_ptr<S3Client> s3) {
  return std::make_unique<S3ArtifactStore>(std::move(s3));
}

} // namespace oci2eif::server
