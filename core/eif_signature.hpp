// The EIF signature section (type 4), serde_cbor of Vec<PcrSignature> (FORMAT.md §6):
//
//   section      = [ 1 * { "signing_certificate": [uint…] (PEM file bytes),
//                          "signature":           [uint…] (COSE_Sign1 bytes) } ]
//   COSE payload = { "register_index": 0, "register_value": [48 uints: PCR0] }
//
// Byte vectors are CBOR arrays of small unsigned integers (serde's Vec<u8>), not byte strings,
// so the section's length depends on the signature's bytes.
#pragma once

#include "core/bytes.hpp"
#include "core/certificate.hpp"
#include "core/signing_key.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace oci2eif {

struct PcrSignatureEntry {
  Bytes signing_certificate; // the certificate file bytes, as given (PEM text)
  Bytes signature;           // serialized COSE_Sign1
};

Bytes encode_signature_section(const std::vector<PcrSignatureEntry>& entries);
std::vector<PcrSignatureEntry> decode_signature_section(ByteView section);

struct PcrInfo {
  std::int32_t register_index = 0;
  Bytes register_value;
};
Bytes encode_pcr_info(const PcrInfo& info);
PcrInfo decode_pcr_info(ByteView payload, const std::string& what);

// A certificate and the private key that belongs to it, checked to match when loaded.
class EifSigner {
public:
  // Throws InvalidInput naming the file on an unreadable file, no certificate, an unsupported
  // key, or a key that does not belong to the certificate.
  static EifSigner load(const std::filesystem::path& certificate_pem,
                        const std::filesystem::path& private_key_pem);
  static EifSigner from_pem(ByteView certificate_pem, ByteView private_key_pem,
                            const std::string& certificate_source = "signing certificate",
                            const std::string& key_source = "private key");
  // The certificate with a key loaded elsewhere (a PKCS#11 token); the same checks as from_pem.
  static EifSigner from_key(ByteView certificate_pem, SigningKey key,
                            const std::string& certificate_source, const std::string& key_source);

  // The complete signature section for an image whose PCR0 is `pcr0`.
  Bytes signature_section(ByteView pcr0) const;
  Bytes pcr8() const { return pcr8_of(certificate_); }
  // The same key signs the build's provenance (core/dsse.hpp).
  const SigningKey& key() const { return key_; }
  const Certificate& certificate() const { return certificate_; }

private:
  EifSigner(Bytes pem, Certificate certificate, SigningKey key);
  // Throws InvalidInput naming both sources when `key` does not belong to `certificate`.
  static EifSigner matched(ByteView certificate_pem, Certificate certificate, SigningKey key,
                           const std::string& certificate_source, const std::string& key_source);
  Bytes certificate_pem_;
  Certificate certificate_;
  SigningKey key_;
};

} // namespace oci2eif
