// An EC private key used to sign EIFs (P-256, P-384 or P-521; FORMAT.md §6), wherever it lives:
// in memory from a PEM file, or in a token that signs for us (PKCS#11, pipeline/pkcs11_key.hpp).
#pragma once

#include "core/bytes.hpp"
#include "core/ec_curve.hpp"
#include "core/sha.hpp"

#include <memory>
#include <string>

namespace oci2eif {

// The two things a private key must do for EIF signing. Implemented here for a PEM key and in
// pipeline/ for a PKCS#11 key: loading a token's module is process-wide state (a dlopen'd
// library, C_Initialize), which core/ does not hold.
class EcdsaSigner {
public:
  virtual ~EcdsaSigner() = default;
  // SubjectPublicKeyInfo DER of the key's public half.
  virtual Bytes public_key_der() const = 0;
  // ECDSA over `message` hashed with `digest`: the DER ECDSA-Sig-Value. Throws Error naming the
  // key. Must be safe to call from several threads at once.
  virtual Bytes sign_der(ByteView message, HashAlgorithm digest) const = 0;
};

class SigningKey {
public:
  // Parses a PEM private key (SEC1 or PKCS#8). Throws InvalidInput naming `source` for
  // anything else: no key, an encrypted key, a non-EC key, or an unsupported curve.
  static SigningKey from_pem(ByteView pem, const std::string& source);
  // The key `signer` holds. Throws InvalidInput naming `source` for a non-EC key or an
  // unsupported curve (read from its public key).
  static SigningKey from_signer(std::shared_ptr<const EcdsaSigner> signer,
                                const std::string& source);

  const EcCurve& curve() const { return *curve_; }
  Bytes public_key_der() const { return signer_->public_key_der(); }

  // ECDSA over `message` with the curve's digest; returns the raw r‖s form COSE uses, each
  // half left-padded to the coordinate size.
  Bytes sign(ByteView message) const;

private:
  std::shared_ptr<const EcdsaSigner> signer_;
  const EcCurve* curve_ = nullptr;
};

} // namespace oci2eif
