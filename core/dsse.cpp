#include "core/dsse.hpp"

#include "core/base64.hpp"
#include "core/error.hpp"
#include "core/json_fields.hpp"
#include "core/sha.hpp"

namespace oci2eif {

Bytes dsse_pae(const std::string& payload_type, ByteView payload) {
  const std::string head = "DSSEv1 " + std::to_string(payload_type.size()) + " " + payload_type +
                           " " + std::to_string(payload.size()) + " ";
  Bytes out(head.begin(), head.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

DsseEnvelope dsse_sign(const std::string& payload_type, ByteView payload, const SigningKey& key) {
  const Bytes pae = dsse_pae(payload_type, payload);
  return {payload_type,
          Bytes(payload.begin(), payload.end()),
          {{to_hex(sha256(key.public_key_der())), raw_to_der_signature(key.sign(pae))}}};
}

std::string dsse_json(const DsseEnvelope& e) {
  nlohmann::ordered_json sigs = nlohmann::ordered_json::array();
  for (const DsseSignature& s : e.signatures) {
    sigs.push_back({{"keyid", s.keyid}, {"sig", base64_encode(std::string(as_chars(s.sig)))}});
  }
  return nlohmann::ordered_json{{"payloadType", e.payload_type},
                                {"payload", base64_encode(std::string(as_chars(e.payload)))},
                                {"signatures", std::move(sigs)}}
      .dump();
}

DsseEnvelope parse_dsse(ByteView json, const std::string& source) {
  const JsonDocument doc(as_chars(json), source, ErrorCode::Corrupt);
  const JsonField& root = doc.root();
  DsseEnvelope e;
  e.payload_type = root["payloadType"].string();
  const std::string payload = base64_decode(root["payload"].string(), source + ": payload");
  e.payload.assign(payload.begin(), payload.end());
  for (const JsonField& s : root["signatures"].elements()) {
    const std::string sig = base64_decode(s.object()["sig"].string(), s["sig"].subject());
    // keyid is optional and only a hint (envelope.md): which key verifies is what counts.
    e.signatures.push_back({s["keyid"].string_or(""), Bytes(sig.begin(), sig.end())});
  }
  return e;
}

bool dsse_verify(const DsseEnvelope& envelope, const VerificationKey& key) {
  const Bytes pae = dsse_pae(envelope.payload_type, envelope.payload);
  for (const DsseSignature& s : envelope.signatures) {
    if (key.verify_ecdsa_der(pae, s.sig)) {
      return true;
    }
  }
  return false;
}

} // namespace oci2eif
