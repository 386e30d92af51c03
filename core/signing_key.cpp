#include "core/signing_key.hpp"

#include "core/error.hpp"
#include "core/openssl_util.hpp"

#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

namespace oci2eif {

struct SigningKey::Impl {
  openssl::PkeyPtr key;
};

namespace {

// Refuses to prompt on the terminal for a passphrase: a daemon has no one to ask.
int no_passphrase(char*, int, int, void* flag) {
  *static_cast<bool*>(flag) = true;
  return -1;
}

} // namespace

SigningKey SigningKey::from_pem(ByteView pem, const std::string& source) {
  auto bio = openssl::memory_bio(pem);
  bool asked_for_passphrase = false;
  openssl::PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, &asked_for_passphrase));
  openssl::last_error();
  if (!key && asked_for_passphrase) {
    throw Error(ErrorCode::InvalidInput, source + ": the private key is encrypted; provide it "
                                                  "unencrypted");
  }
  if (!key) {
    throw Error(ErrorCode::Corrupt, source + ": no PEM private key found"); // a bad file: exit 1
  }
  const int type = EVP_PKEY_get_base_id(key.get());
  if (type != EVP_PKEY_EC) {
    const char* name = EVP_PKEY_get0_type_name(key.get());
    throw Error(
        ErrorCode::InvalidInput,
        source + ": " + (name != nullptr ? name : "this") +
            " keys are not supported; EIF signing needs an EC key on P-256, P-384 or P-521");
  }
  const std::string group = openssl::ec_group_name(key.get());
  const EcCurve* curve = ec_curve_by_group(group);
  if (curve == nullptr) {
    throw Error(ErrorCode::InvalidInput,
                source + ": EC curve '" + group + "' is not supported; use P-256, P-384 or P-521");
  }
  SigningKey k;
  auto impl = std::make_shared<Impl>();
  impl->key = std::move(key);
  k.impl_ = std::move(impl);
  k.curve_ = curve;
  return k;
}

Bytes SigningKey::public_key_der() const {
  return openssl::to_der(i2d_PUBKEY, impl_->key.get(), "the public key");
}

Bytes SigningKey::sign(ByteView message) const {
  openssl::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, openssl::evp_md(curve_->digest), nullptr,
                         impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, message.data(), message.size()) != 1) {
    throw Error(ErrorCode::Internal, "ECDSA signing failed: " + openssl::last_error());
  }
  Bytes der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, message.data(), message.size()) != 1) {
    throw Error(ErrorCode::Internal, "ECDSA signing failed: " + openssl::last_error());
  }
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
  if (sig == nullptr) {
    throw Error(ErrorCode::Internal, "OpenSSL returned an unreadable ECDSA signature");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  const int n = static_cast<int>(curve_->coordinate_size);
  Bytes raw(2 * curve_->coordinate_size);
  const bool ok = BN_bn2binpad(r, raw.data(), n) == n && BN_bn2binpad(s, raw.data() + n, n) == n;
  ECDSA_SIG_free(sig);
  if (!ok) {
    throw Error(ErrorCode::Internal, "ECDSA signature does not fit the curve size");
  }
  return raw;
}

} // namespace oci2eif
