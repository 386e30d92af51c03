// DSSE, the signing envelope in-toto attestations travel in (github.com/secure-systems-lab/dsse,
// envelope.md and protocol.md):
//
//   {"payloadType": T, "payload": base64(BODY), "signatures": [{"keyid": K, "sig": base64(SIG)}]}
//
// SIG signs PAE(T, BODY) = "DSSEv1" SP LEN(T) SP T SP LEN(BODY) SP BODY, lengths in ASCII
// decimal. Signatures here are ECDSA in DER (what openssl, cosign and sigstore produce and
// check), over the curve's digest (SHA-384 for P-384), so `openssl dgst -sha384 -verify` checks
// one with nothing but the PAE bytes.
#pragma once

#include "core/bytes.hpp"
#include "core/signing_key.hpp"
#include "core/verification_key.hpp"

#include <string>
#include <vector>

namespace oci2eif {

inline constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";

Bytes dsse_pae(const std::string& payload_type, ByteView payload);

struct DsseSignature {
  std::string keyid;
  Bytes sig; // DER ECDSA-Sig-Value
};

struct DsseEnvelope {
  std::string payload_type;
  Bytes payload;
  std::vector<DsseSignature> signatures;
};

// Signs `payload` with `key`; keyid is the hex SHA-256 of the signer's DER public key.
DsseEnvelope dsse_sign(const std::string& payload_type, ByteView payload, const SigningKey& key);

// The envelope as one line of compact JSON (a .jsonl line), without the newline.
std::string dsse_json(const DsseEnvelope& envelope);

// Parses an envelope; throws Corrupt naming `source` for anything else.
DsseEnvelope parse_dsse(ByteView json, const std::string& source);

// True if some signature of `envelope` verifies with `key`.
bool dsse_verify(const DsseEnvelope& envelope, const VerificationKey& key);

} // namespace oci2eif
