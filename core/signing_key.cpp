#include "core/signing_key.hpp"

#include "core/error.hpp"
#include "core/openssl_util.hpp"

#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

namespace oci2eif {
namespace {

// A key read from a PEM file, held in memory.
class PemSigner : public EcdsaSigner {
public:
  PemSigner(openssl::PkeyPtr key, std::string source)
      : key_(std::move(key)), source_(std::move(source)) {}
  Bytes public_key_der() const override {
    return openssl::to_der(i2d_PUBKEY, key_.get(), "the public key");
  }
  Bytes sign_der(ByteView message, HashAlgorithm digest) const override {
    return openssl::digest_sign(key_.get(), digest, message, source_);
  }

private:
  openssl::PkeyPtr key_;
  std::string source_;
};

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
  return from_signer(std::make_shared<PemSigner>(std::move(key), source), source);
}

SigningKey SigningKey::from_signer(std::shared_ptr<const EcdsaSigner> signer,
                                   const std::string& source) {
  // The curve comes from the public half, the one thing every kind of key can show.
  const Bytes der = signer->public_key_der();
  const unsigned char* p = der.data();
  openssl::PkeyPtr public_key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!public_key) {
    throw Error(ErrorCode::InvalidInput,
                source + ": the public key is unreadable: " + openssl::last_error());
  }
  SigningKey k;
  k.curve_ = &openssl::supported_ec_curve(public_key.get(), source);
  k.signer_ = std::move(signer);
  return k;
}

Bytes SigningKey::sign(ByteView message) const {
  const Bytes der = signer_->sign_der(message, curve_->digest);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) {
    throw Error(ErrorCode::Internal, "the key returned an unreadable ECDSA signature");
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
