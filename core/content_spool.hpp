// Where file contents go while layers are flattened: an append-only store that hands back a
// reference (offset, size, sha256) and re-opens it later for the ramdisk writer. Layers are
// never extracted onto the host; only this spool, inside the build's scratch space, is written.
#pragma once

#include "core/bytes.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace oci2eif {

struct ContentRef {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::array<std::uint8_t, 32> sha256{}; // all zero from a spool that keeps no digests
};

// Whether a spool hashes each content as it stores it. Only the rootfs listing reads the
// digests, and hashing costs about 0.6 s of CPU per GB, so a build that makes no listing skips it.
enum class ContentDigests { Sha256, None };

class ContentSpool {
public:
  virtual ~ContentSpool() = default;
  // Copies exactly `size` bytes from `in` (throws Corrupt if it ends early).
  virtual ContentRef store(ByteSource& in, std::uint64_t size) = 0;
  virtual std::unique_ptr<ByteSource> open(const ContentRef& ref) const = 0;
};

// Keeps contents in memory: for tests and small images.
class MemorySpool final : public ContentSpool {
public:
  ContentRef store(ByteSource& in, std::uint64_t size) override;
  std::unique_ptr<ByteSource> open(const ContentRef& ref) const override;

private:
  Bytes data_;
};

// Appends contents to one file (created exclusively, removed when the spool is destroyed).
class FileSpool final : public ContentSpool {
public:
  explicit FileSpool(const std::filesystem::path& path,
                     ContentDigests digests = ContentDigests::Sha256);
  ~FileSpool() override;
  FileSpool(const FileSpool&) = delete;
  FileSpool& operator=(const FileSpool&) = delete;

  ContentRef store(ByteSource& in, std::uint64_t size) override;
  std::unique_ptr<ByteSource> open(const ContentRef& ref) const override;

private:
  std::filesystem::path path_;
  ContentDigests digests_;
  int fd_ = -1;
  std::uint64_t end_ = 0;
};

} // namespace oci2eif
