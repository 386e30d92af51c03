#include "server/s3_blob_store.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "server/s3_client.hpp"

#include <vector>

namespace oci2eif::server {
namespace {

// A ranged GET per chunk keeps memory bounded for multi-GB layers.
constexpr std::size_t kChunk = 8 << 20;

class S3BlobStore final : public registry::SharedBlobStore {
public:
  explicit S3BlobStore(std::shared_ptr<S3Client> s3) : s3_(std::move(s3)) {}

  bool fetch(const std::string& digest, registry::BlobDownload& into) override {
    const std::string key = key_of(digest);
    const auto size = s3_->head(key);
    if (!size) {
      return false;
    }
    std::vector<std::uint8_t> chunk(static_cast<std::size_t>(
        std::min<std::uint64_t>(kChunk, std::max<std::uint64_t>(*size, 1))));
    for (std::uint64_t offset = 0; offset < *size;) {
      const std::size_t n = s3_->get_range(key, offset, chunk);
      if (n == 0) {
        throw Error(ErrorCode::Corrupt, "shared copy " + key + " ends at " +
                                            std::to_string(offset) + " of " +
                                            std::to_string(*size) + " bytes");
      }
      into.append(ByteView(chunk.data(), n));
      offset += n;
    }
    return true;
  }

  void put(const std::string& digest, const std::filesystem::path& verified_file) override {
    // Unconditional, not after a HEAD: the caller fetched from the registry because the shared
    // copy was missing or refused, and overwriting repairs a corrupt one.
    s3_->put_file(key_of(digest), verified_file);
  }

  bool contains(const std::string& digest) override {
    return s3_->head(key_of(digest)).has_value();
  }

private:
  std::string key_of(const std::string& digest) const {
    validate_digest(digest, "shared blob store");
    return s3_->options().location.prefix + "blobs/sha256/" + digest.substr(7);
  }

  std::shared_ptr<S3Client> s3_;
};

} // namespace

std::shared_ptr<registry::SharedBlobStore> open_s3_blob_store(std::shared_ptr<S3Client> s3) {
  return std::make_shared<S3BlobStore>(std::move(s3));
}

} // namespace oci2eif::server
