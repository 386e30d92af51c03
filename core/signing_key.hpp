// An EC private key used to sign EIFs (P-256, P-384 or P-521; FORMAT.md §6).
#pragma once

#include "core/bytes.hpp"
#include "core/ec_curve.hpp"

#include <memory>
#include <string>

namespace oci2eif {

class SigningKey {
public:
  // Parses a PEM private key (SEC1 or PKCS#8). Throws InvalidInput naming `source` for
  // anything else: no key, an encrypted key, a non-EC key, or an unsupported curve.
  static SigningKey from_pem(ByteView pem, const std::string& source);

  const EcCurve& curve() const { return *curve_; }
  Bytes public_key_der() const;

  // ECDSA over `message` with the curve's digest; returns the raw r‖s form COSE uses, each
  // half left-padded to the coordinate size.
  Bytes sign(ByteView message) const;

private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  const EcCurve* curve_ = nullptr;
};

} // namespace oci2eif
