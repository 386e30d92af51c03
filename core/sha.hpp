// Incremental SHA-256 / SHA-384 / SHA-512 over OpenSSL's EVP interface, kept behind our own type
// so that OpenSSL headers stay out of public headers.
#pragma once

#include "core/bytes.hpp"

#include <memory>

namespace oci2eif {

enum class HashAlgorithm { Sha256, Sha384, Sha512 };

class Hasher final : public ByteSink {
public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher() override;
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void write(ByteView data) override;
  // Returns the digest. The hasher must not be written to afterwards.
  Bytes finish();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Bytes digest(HashAlgorithm algorithm, ByteView data);
inline Bytes sha384(ByteView data) {
  return digest(HashAlgorithm::Sha384, data);
}
inline Bytes sha256(ByteView data) {
  return digest(HashAlgorithm::Sha256, data);
}

} // namespace oci2eif
