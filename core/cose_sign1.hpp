// COSE_Sign1 (RFC 8152 §4.2) as aws-nitro-enclaves-cose writes it for EIF signatures:
//
//   COSE_Sign1 = [ protected: bstr .cbor {1: alg}, unprotected: {}, payload: bstr,
//                  signature: bstr (r‖s) ]                          (untagged, no tag 18)
//   signed data = Hash_alg(CBOR ["Signature1", protected, h'', payload])
//
// For P-384 the protected header is exactly a1 01 38 22 (alg -35, ES384).
#pragma once

#include "core/bytes.hpp"
#include "core/certificate.hpp"
#include "core/signing_key.hpp"

#include <cstdint>
#include <string>

namespace oci2eif {

struct CoseSign1 {
  Bytes protected_header; // the serialized protected map
  std::int64_t algorithm = 0;
  Bytes payload;
  Bytes signature;
};

// Signs `payload` and returns the serialized (untagged) COSE_Sign1.
Bytes cose_sign1_create(ByteView payload, const SigningKey& key);

// Parses a serialized COSE_Sign1 strictly (Error Corrupt naming `what` on any deviation).
CoseSign1 cose_sign1_parse(ByteView data, const std::string& what);

// True if the signature verifies with the certificate's key and the algorithm matches its curve.
bool cose_sign1_verify(const CoseSign1& message, const Certificate& certificate);

} // namespace oci2eif
