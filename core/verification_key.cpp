#include "core/verification_key.hpp"

#include "core/error.hpp"
#include "core/openssl_util.hpp"

#include <openssl/pem.h>

namespace oci2eif {

struct VerificationKey::Impl {
  openssl::PkeyPtr key;
};

VerificationKey::VerificationKey(EVP_PKEY* key, const std::string& source) {
  auto impl = std::make_shared<Impl>();
  impl->key.reset(key);
  curve_ = &openssl::supported_ec_curve(key, source);
  impl_ = std::move(impl);
}

VerificationKey VerificationKey::from_pem(ByteView pem, const std::string& source) {
  openssl::BioPtr bio = openssl::memory_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    openssl::last_error();
    throw Error(ErrorCode::InvalidInput, source + ": no PEM public key (BEGIN PUBLIC KEY)");
  }
  return VerificationKey(key, source);
}

VerificationKey VerificationKey::from_certificate(const Certificate& certificate,
                                                  const std::string& source) {
  const Bytes der = certificate.public_key_der();
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (key == nullptr) {
    throw Error(ErrorCode::InvalidInput,
                source + ": unreadable public key: " + openssl::last_error());
  }
  return VerificationKey(key, source);
}

Bytes VerificationKey::der() const {
  return openssl::to_der(i2d_PUBKEY, static_cast<const EVP_PKEY*>(impl_->key.get()),
                         "a public key");
}

bool VerificationKey::verify_ecdsa_der(ByteView message, ByteView der_signature) const {
  openssl::MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = !der_signature.empty() &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, openssl::evp_md(curve_->digest), nullptr,
                                       impl_->key.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), der_signature.data(), der_signature.size(),
                                   message.data(), message.size()) == 1;
  openssl::last_error(); // a failed verification leaves entries in the error queue
  return ok;
}

} // namespace oci2eif
