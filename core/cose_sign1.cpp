#include "core/cose_sign1.hpp"

#include "core/cbor.hpp"
#include "core/error.hpp"

namespace oci2eif {
namespace {

constexpr std::int64_t kHeaderAlgorithm = 1;

Bytes protected_header_for(std::int64_t algorithm) {
  Bytes out;
  cbor::put_map_head(out, 1);
  cbor::put_unsigned(out, kHeaderAlgorithm);
  cbor::put_negative(out, algorithm);
  return out;
}

Bytes sig_structure(ByteView protected_header, ByteView payload) {
  Bytes out;
  cbor::put_array_head(out, 4);
  cbor::put_text(out, "Signature1");
  cbor::put_bytes(out, protected_header);
  cbor::put_bytes(out, {});
  cbor::put_bytes(out, payload);
  return out;
}

std::int64_t algorithm_of(ByteView protected_header, const std::string& what) {
  const cbor::Value map = cbor::decode(protected_header, what + " protected header");
  if (map.kind != cbor::Value::Kind::Map) {
    throw Error(ErrorCode::Corrupt, what + ": protected header is not a map");
  }
  for (const auto& [k, v] : map.entries) {
    if (k.kind == cbor::Value::Kind::Unsigned && k.number == kHeaderAlgorithm) {
      if (v.kind != cbor::Value::Kind::Negative || v.number > 1000) {
        throw Error(ErrorCode::Corrupt, what + ": unsupported algorithm value in protected header");
      }
      return -1 - static_cast<std::int64_t>(v.number);
    }
  }
  throw Error(ErrorCode::Corrupt, what + ": protected header names no algorithm");
}

const cbor::Value& expect(const cbor::Value& v, cbor::Value::Kind kind, const std::string& what,
                          const char* field) {
  if (v.kind != kind) {
    throw Error(ErrorCode::Corrupt, what + ": " + field + " must be a " + cbor::kind_name(kind) +
                                        ", found a " + cbor::kind_name(v.kind));
  }
  return v;
}

} // namespace

Bytes cose_sign1_create(ByteView payload, const SigningKey& key) {
  const Bytes protected_header = protected_header_for(key.curve().cose_algorithm);
  const Bytes signature = key.sign(sig_structure(protected_header, payload));
  Bytes out;
  cbor::put_array_head(out, 4);
  cbor::put_bytes(out, protected_header);
  cbor::put_map_head(out, 0);
  cbor::put_bytes(out, payload);
  cbor::put_bytes(out, signature);
  return out;
}

CoseSign1 cose_sign1_parse(ByteView data, const std::string& what) {
  const cbor::Value v = cbor::decode(data, what);
  if (v.kind != cbor::Value::Kind::Array || v.items.size() != 4) {
    throw Error(ErrorCode::Corrupt, what + ": COSE_Sign1 must be an array of 4 elements");
  }
  CoseSign1 m;
  m.protected_header = expect(v.items[0], cbor::Value::Kind::Bytes, what, "protected header").bytes;
  expect(v.items[1], cbor::Value::Kind::Map, what, "unprotected header");
  m.payload = expect(v.items[2], cbor::Value::Kind::Bytes, what, "payload").bytes;
  m.signature = expect(v.items[3], cbor::Value::Kind::Bytes, what, "signature").bytes;
  m.algorithm = algorithm_of(m.protected_header, what);
  return m;
}

bool cose_sign1_verify(const CoseSign1& message, const Certificate& certificate) {
  const EcCurve* curve = ec_curve_by_group(certificate.ec_group());
  if (curve == nullptr || curve->cose_algorithm != message.algorithm) {
    return false;
  }
  return certificate.verify_ecdsa(sig_structure(message.protected_header, message.payload),
                                  message.signature);
}

} // namespace oci2eif
