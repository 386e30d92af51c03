// An X.509 certificate as EIF signing uses it: the identity behind PCR8, the public key that
// verifies the COSE signature, and the fields `nitro-cli describe-eif` reports.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace oci2eif {

struct CertificateInfo {
  std::vector<std::pair<std::string, std::string>> issuer; // OpenSSL long name → value
  std::string algorithm;                                   // e.g. "ecdsa-with-SHA384"
  std::string not_before; // OpenSSL text form, "Jan  1 00:00:00 2020 GMT"
  std::string not_after;
  std::string signature; // the certificate's signature bytes, "AB:CD:…"
};

class Certificate {
public:
  // Parses the first certificate of a PEM text. Throws InvalidInput (naming `source`) when
  // there is none.
  static Certificate from_pem(ByteView pem, const std::string& source);

  Bytes der() const;
  CertificateInfo info() const;
  std::int64_t not_before_unix() const;
  std::int64_t not_after_unix() const;

  // Verifies a raw r‖s ECDSA signature (COSE form) over `message`, hashed with the curve's
  // digest. Returns false for a wrong signature or a non-EC key.
  bool verify_ecdsa(ByteView message, ByteView raw_signature) const;

  // The OpenSSL group name of the public key ("secp384r1"), or "" if it is not an EC key.
  std::string ec_group() const;

  // DER SubjectPublicKeyInfo of the certificate's key (to match it against a private key).
  Bytes public_key_der() const;

private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// PCR8: SHA384(0^48 ‖ SHA384(DER(certificate))).
Bytes pcr8_of(const Certificate& certificate);

// ECDSA signature forms: COSE's raw r‖s (each half the coordinate size) to DER ECDSA-Sig-Value.
Bytes raw_to_der_signature(ByteView raw);

} // namespace oci2eif
