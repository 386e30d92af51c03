#include "core/digest.hpp"

#include "core/error.hpp"

#include <array>

namespace oci2eif {

void validate_digest(std::string_view digest, const std::string& context) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.substr(0, kPrefix.size()) != kPrefix) {
    throw Error(ErrorCode::InvalidInput, context + ": digest '" + std::string(digest) +
                                             "' is not a sha256 digest (only sha256 is supported)");
  }
  const std::string_view hex = digest.substr(kPrefix.size());
  bool ok = hex.size() == 64;
  for (char c : hex) {
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!ok) {
    throw Error(ErrorCode::InvalidInput, context + ": digest '" + std::string(digest) +
                                             "' must be sha256: and 64 lower-case hex digits");
  }
}

std::string short_digest(const std::string& digest) {
  return digest.substr(0, 19);
}

std::string sha256_digest(ByteView data) {
  return "sha256:" + to_hex(sha256(data));
}

std::string sha256_file_digest(const std::filesystem::path& path) {
  FileSource file(path);
  return DigestingSource(file).digest_of_all();
}

std::size_t DigestingSource::read(std::span<std::uint8_t> out) {
  const std::size_t n = inner_.read(out);
  hasher_.write(ByteView(out.data(), n));
  return n;
}

std::string DigestingSource::digest_of_all() {
  std::array<std::uint8_t, 1 << 16> rest;
  while (read(rest) > 0) {
  }
  return "sha256:" + to_hex(hasher_.finish());
}

VerifyingSource::VerifyingSource(ByteSource& inner, std::string expected_digest,
                                 std::uint64_t expected_size, std::string subject)
    : inner_(inner), expected_digest_(std::move(expected_digest)), expected_size_(expected_size),
      subject_(std::move(subject)) {
}

std::size_t VerifyingSource::read(std::span<std::uint8_t> out) {
  const std::size_t n = inner_.read(out);
  if (n > 0) {
    hasher_.write(ByteView(out.data(), n));
    seen_ += n;
    if (expected_size_ != kUnknownSize && seen_ > expected_size_) {
      throw Error(ErrorCode::DigestMismatch, subject_ + ": more than the expected " +
                                                 std::to_string(expected_size_) + " bytes");
    }
    return n;
  }
  if (!checked_) {
    mismatch_ = subject_ + ": the digest could not be checked"; // stays if verdict() throws
    checked_ = true;
    mismatch_ = verdict();
  }
  if (!mismatch_.empty()) {
    throw Error(ErrorCode::DigestMismatch, mismatch_);
  }
  return 0;
}

std::string VerifyingSource::verdict() {
  if (expected_size_ != kUnknownSize && seen_ != expected_size_) {
    return subject_ + ": expected " + std::to_string(expected_size_) + " bytes, got " +
           std::to_string(seen_);
  }
  const std::string actual = "sha256:" + to_hex(hasher_.finish());
  if (actual != expected_digest_) {
    return subject_ + ": content has digest " + actual + ", expected " + expected_digest_;
  }
  return "";
}

VerifiedFileSource::VerifiedFileSource(const std::filesystem::path& path,
                                       std::string expected_digest, std::uint64_t expected_size,
                                       std::string subject)
    : file_(path), verify_(file_, std::move(expected_digest), expected_size, std::move(subject)) {
}

VerifiedFileSource::VerifiedFileSource(int fd, const std::filesystem::path& path,
                                       std::string expected_digest, std::uint64_t expected_size,
                                       std::string subject)
    : file_(fd, path),
      verify_(file_, std::move(expected_digest), expected_size, std::move(subject)) {
}

} // namespace oci2eif
