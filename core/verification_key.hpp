// A public EC key that checks signatures: what `oci2eif verify --key` reads (a PEM public key),
// or the key of a certificate. Only the curves EIF signing supports (core/ec_curve.hpp).
#pragma once

#include "core/bytes.hpp"
#include "core/certificate.hpp"
#include "core/ec_curve.hpp"

#include <memory>
#include <openssl/types.h>
#include <string>

namespace oci2eif {

class VerificationKey {
public:
  // Parses a PEM "PUBLIC KEY" (SubjectPublicKeyInfo). Throws InvalidInput naming `source` for
  // anything else, a non-EC key or an unsupported curve.
  static VerificationKey from_pem(ByteView pem, const std::string& source);
  // A certificate's key. Throws InvalidInput naming `source` as from_pem does.
  static VerificationKey from_certificate(const Certificate& certificate,
                                          const std::string& source);

  const EcCurve& curve() const { return *curve_; }
  // SubjectPublicKeyInfo DER.
  Bytes der() const;

  // A DER ECDSA-Sig-Value over `message`, hashed with the curve's digest. False for a wrong or
  // malformed signature.
  bool verify_ecdsa_der(ByteView message, ByteView der_signature) const;

private:
  // Takes ownership of `key`, even when it throws.
  VerificationKey(EVP_PKEY* key, const std::string& source);

  struct Impl;
  std::shared_ptr<const Impl> impl_;
  const EcCurve* curve_ = nullptr;
};

} // namespace oci2eif
