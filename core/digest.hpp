// Content digests in the OCI form "sha256:<64 lower-case hex>", and a ByteSource adapter that
// checks one while the bytes stream past, so a blob is verified in the same pass that uses it.
#pragma once

#include "core/bytes.hpp"
#include "core/file_stream.hpp"
#include "core/sha.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace oci2eif {

// Throws InvalidInput unless `digest` is "sha256:" followed by 64 lower-case hex digits.
// (sha512 digests are valid OCI but unused by the registries we target; they are refused with
// a message that says so.)
void validate_digest(std::string_view digest, const std::string& context);

// The digest's first 19 characters ("sha256:" and 12 hex digits), as log lines show it.
std::string short_digest(const std::string& digest);

std::string sha256_digest(ByteView data);
// The digest of a file's contents, streamed (an EIF or a kernel is never read whole).
std::string sha256_file_digest(const std::filesystem::path& path);

// Passes `inner` through and hashes what passes, for a caller that uses a stream and must also
// know its digest: an EIF is checked and hashed for publishing in one read, not two.
class DigestingSource final : public ByteSource {
public:
  explicit DigestingSource(ByteSource& inner) : inner_(inner) {}
  std::uint64_t size() const override { return inner_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override;
  std::string describe() const override { return inner_.describe(); }
  // "sha256:<hex>" of every byte read so far; reads the rest of `inner` first, so the digest is
  // of the whole stream whatever the caller left unread. Call once.
  std::string digest_of_all();

private:
  ByteSource& inner_;
  Hasher hasher_{HashAlgorithm::Sha256};
};

// Passes `inner` through and, when it is exhausted, checks that the bytes had `expected_digest`
// and (if known) `expected_size`. A mismatch throws Error(DigestMismatch) naming `subject`, at
// the end and again at every read after it, so a reader that reads the end twice (a drain
// after a read-ahead, say) cannot take the second, quiet 0 for a clean end.
// Reading past the expected size also fails at once, so a hostile source cannot stream forever.
class VerifyingSource final : public ByteSource {
public:
  VerifyingSource(ByteSource& inner, std::string expected_digest, std::uint64_t expected_size,
                  std::string subject);
  std::uint64_t size() const override { return expected_size_; }
  std::size_t read(std::span<std::uint8_t> out) override;
  std::string describe() const override { return subject_; }
  // Bytes passed through so far (the size, once the source is exhausted).
  std::uint64_t bytes_read() const { return seen_; }

private:
  ByteSource& inner_;
  std::string expected_digest_;
  std::uint64_t expected_size_;
  std::string subject_;
  // The check at the end: what is wrong with the bytes, or "" if nothing.
  std::string verdict();

  Hasher hasher_{HashAlgorithm::Sha256};
  std::uint64_t seen_ = 0;
  bool checked_ = false;
  std::string mismatch_; // the verdict, thrown again by every read after the end
};

// A file verified the same way while it is read; owns both the file and the check.
class VerifiedFileSource final : public ByteSource {
public:
  VerifiedFileSource(const std::filesystem::path& path, std::string expected_digest,
                     std::uint64_t expected_size, std::string subject);
  // Adopts `fd`, open for reading, as FileSource(fd, path) does.
  VerifiedFileSource(int fd, const std::filesystem::path& path, std::string expected_digest,
                     std::uint64_t expected_size, std::string subject);
  std::uint64_t size() const override { return verify_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override { return verify_.read(out); }
  std::string describe() const override { return verify_.describe(); }

private:
  FileSource file_;
  VerifyingSource verify_;
};

} // namespace oci2eif
