#include "core/sha.hpp"

#include "core/error.hpp"
#include "core/openssl_util.hpp"

namespace oci2eif {

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(HashAlgorithm algorithm) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr ||
      EVP_DigestInit_ex(impl_->ctx, openssl::evp_md(algorithm), nullptr) != 1) {
    throw Error(ErrorCode::Internal, "OpenSSL could not initialise a digest");
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::write(ByteView data) {
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) {
    throw Error(ErrorCode::Internal, "OpenSSL digest update failed");
  }
}

Bytes Hasher::finish() {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1) {
    throw Error(ErrorCode::Internal, "OpenSSL digest final failed");
  }
  out.resize(len);
  return out;
}

Bytes digest(HashAlgorithm algorithm, ByteView data) {
  Hasher h(algorithm);
  h.write(data);
  return h.finish();
}

} // namespace oci2eif
