#include "core/eif_signature.hpp"

#include "core/cbor.hpp"
#include "core/cose_sign1.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"

namespace oci2eif {
namespace {

constexpr std::size_t kMaxPemFileSize = 1 << 20;
constexpr const char* kSectionName = "signature section";

const cbor::Value& field(const cbor::Value& map, const char* key, const std::string& where) {
  const cbor::Value* v = map.find(key);
  if (v == nullptr) {
    throw Error(ErrorCode::Corrupt, where + " lacks \"" + key + "\"");
  }
  return *v;
}

} // namespace

Bytes encode_signature_section(const std::vector<PcrSignatureEntry>& entries) {
  Bytes out;
  cbor::put_array_head(out, entries.size());
  for (const PcrSignatureEntry& e : entries) {
    cbor::put_map_head(out, 2);
    cbor::put_text(out, "signing_certificate");
    cbor::put_uint_array(out, e.signing_certificate);
    cbor::put_text(out, "signature");
    cbor::put_uint_array(out, e.signature);
  }
  return out;
}

std::vector<PcrSignatureEntry> decode_signature_section(ByteView section) {
  const cbor::Value v = cbor::decode(section, kSectionName);
  if (v.kind != cbor::Value::Kind::Array) {
    throw Error(ErrorCode::Corrupt, "signature section must be a CBOR array");
  }
  if (v.items.empty()) {
    throw Error(ErrorCode::Corrupt, "signature section holds no signature");
  }
  std::vector<PcrSignatureEntry> entries;
  for (std::size_t i = 0; i < v.items.size(); ++i) {
    const std::string where = "signature section entry " + std::to_string(i);
    const cbor::Value& map = v.items[i];
    if (map.kind != cbor::Value::Kind::Map) {
      throw Error(ErrorCode::Corrupt, where + " is not a map");
    }
    PcrSignatureEntry e;
    e.signing_certificate = cbor::uint_array_to_bytes(field(map, "signing_certificate", where),
                                                      where + " signing_certificate");
    e.signature = cbor::uint_array_to_bytes(field(map, "signature", where), where + " signature");
    entries.push_back(std::move(e));
  }
  return entries;
}

Bytes encode_pcr_info(const PcrInfo& info) {
  Bytes out;
  cbor::put_map_head(out, 2);
  cbor::put_text(out, "register_index");
  if (info.register_index >= 0) {
    cbor::put_unsigned(out, static_cast<std::uint64_t>(info.register_index));
  } else {
    cbor::put_negative(out, info.register_index);
  }
  cbor::put_text(out, "register_value");
  cbor::put_uint_array(out, info.register_value);
  return out;
}

PcrInfo decode_pcr_info(ByteView payload, const std::string& what) {
  const cbor::Value v = cbor::decode(payload, what);
  if (v.kind != cbor::Value::Kind::Map) {
    throw Error(ErrorCode::Corrupt, what + " is not a map");
  }
  const cbor::Value& index = field(v, "register_index", what);
  if (index.kind != cbor::Value::Kind::Unsigned || index.number > 31) {
    throw Error(ErrorCode::Corrupt, what + ": register_index is not a PCR number");
  }
  PcrInfo info;
  info.register_index = static_cast<std::int32_t>(index.number);
  info.register_value =
      cbor::uint_array_to_bytes(field(v, "register_value", what), what + " register_value");
  return info;
}

EifSigner::EifSigner(Bytes pem, Certificate certificate, SigningKey key)
    : certificate_pem_(std::move(pem)), certificate_(std::move(certificate)), key_(std::move(key)) {
}

EifSigner EifSigner::from_pem(ByteView certificate_pem, ByteView private_key_pem,
                              const std::string& certificate_source,
                              const std::string& key_source) {
  Certificate cert = Certificate::from_pem(certificate_pem, certificate_source);
  SigningKey key = SigningKey::from_pem(private_key_pem, key_source);
  return matched(certificate_pem, std::move(cert), std::move(key), certificate_source, key_source);
}

EifSigner EifSigner::from_key(ByteView certificate_pem, SigningKey key,
                              const std::string& certificate_source,
                              const std::string& key_source) {
  Certificate cert = Certificate::from_pem(certificate_pem, certificate_source);
  return matched(certificate_pem, std::move(cert), std::move(key), certificate_source, key_source);
}

EifSigner EifSigner::matched(ByteView certificate_pem, Certificate certificate, SigningKey key,
                             const std::string& certificate_source, const std::string& key_source) {
  if (certificate.public_key_der() != key.public_key_der()) {
    throw Error(ErrorCode::InvalidInput, key_source +
                                             ": this private key does not belong to the "
                                             "certificate " +
                                             certificate_source);
  }
  return EifSigner(Bytes(certificate_pem.begin(), certificate_pem.end()), std::move(certificate),
                   std::move(key));
}

EifSigner EifSigner::load(const std::filesystem::path& certificate_pem,
                          const std::filesystem::path& private_key_pem) {
  const Bytes certificate = read_small_file(certificate_pem, kMaxPemFileSize);
  const Bytes key = read_small_file(private_key_pem, kMaxPemFileSize);
  return from_pem(certificate, key, certificate_pem.string(), private_key_pem.string());
}

Bytes EifSigner::signature_section(ByteView pcr0) const {
  const Bytes payload = encode_pcr_info({0, Bytes(pcr0.begin(), pcr0.end())});
  return encode_signature_section({{certificate_pem_, cose_sign1_create(payload, key_)}});
}

} // namespace oci2eif
