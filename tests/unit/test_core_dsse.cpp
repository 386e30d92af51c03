#include "core/base64.hpp"
#include "core/certificate.hpp"
#include "core/dsse.hpp"
#include "core/error.hpp"
#include "core/signing_key.hpp"
#include "core/verification_key.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace oci2eif;

namespace {

struct VectorIdentity {
  Certificate certificate;
  SigningKey key;
};

VectorIdentity vector_identity() {
  const Bytes cert = test::read_file(test::vector_input("signing-cert-p384.pem"));
  const Bytes key = test::read_file(test::vector_input("signing-key-p384.pem"));
  return {Certificate::from_pem(cert, "cert"), SigningKey::from_pem(key, "key")};
}

VerificationKey key_of(const Certificate& certificate) {
  return VerificationKey::from_certificate(certificate, "cert");
}

std::string envelope_with(const std::string& field, const nlohmann::json& value) {
  nlohmann::json doc = {{"payloadType", kInTotoPayloadType},
                        {"payload", base64_encode("{}")},
                        {"signatures", nlohmann::json::array({{{"sig", base64_encode("x")}}})}};
  doc[field] = value;
  return doc.dump();
}

} // namespace

TEST_SUITE("core::dsse") {
  TEST_CASE("PAE is the DSSE protocol's example, byte for byte") {
    // github.com/secure-systems-lab/dsse protocol.md, "Test vectors".
    CHECK(std::string(as_chars(
              dsse_pae("http://example.com/HelloWorld", as_bytes(std::string("hello world"))))) ==
          "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    CHECK(std::string(as_chars(dsse_pae("", {}))) == "DSSEv1 0  0 ");
  }

  TEST_CASE("a signed envelope round-trips through JSON and verifies with the certificate") {
    const VectorIdentity id = vector_identity();
    const std::string statement = R"({"_type":"https://in-toto.io/Statement/v1"})";
    const DsseEnvelope signed_envelope = dsse_sign(kInTotoPayloadType, as_bytes(statement), id.key);
    REQUIRE(signed_envelope.signatures.size() == 1);
    CHECK(signed_envelope.signatures[0].keyid == test::sha256_hex(id.certificate.public_key_der()));

    const std::string line = dsse_json(signed_envelope);
    CHECK(line.find('\n') == std::string::npos);
    const auto doc = nlohmann::json::parse(line);
    CHECK(doc["payloadType"] == kInTotoPayloadType);
    CHECK(base64_decode(doc["payload"].get<std::string>(), "payload") == statement);

    const DsseEnvelope parsed = parse_dsse(as_bytes(line), "envelope");
    CHECK(parsed.payload_type == kInTotoPayloadType);
    CHECK(std::string(as_chars(parsed.payload)) == statement);
    CHECK(dsse_verify(parsed, key_of(id.certificate)));
  }

  TEST_CASE("a changed payload, payload type or signature, or another key, does not verify") {
    const VectorIdentity id = vector_identity();
    const DsseEnvelope good = dsse_sign(kInTotoPayloadType, as_bytes(std::string("{}")), id.key);
    REQUIRE(dsse_verify(good, key_of(id.certificate)));

    DsseEnvelope payload = good;
    payload.payload.push_back(' ');
    CHECK_FALSE(dsse_verify(payload, key_of(id.certificate)));

    DsseEnvelope type = good;
    type.payload_type = "application/json";
    CHECK_FALSE(dsse_verify(type, key_of(id.certificate)));

    DsseEnvelope signature = good;
    signature.signatures[0].sig.back() ^= 1;
    CHECK_FALSE(dsse_verify(signature, key_of(id.certificate)));

    DsseEnvelope none = good;
    none.signatures.clear();
    CHECK_FALSE(dsse_verify(none, key_of(id.certificate)));

    const test::PemIdentity other = test::make_ec_identity("secp384r1");
    CHECK_FALSE(dsse_verify(good, key_of(Certificate::from_pem(as_bytes(other.certificate), "o"))));
  }

  TEST_CASE("a PEM public key verifies as its certificate does") {
    const VectorIdentity id = vector_identity();
    const DsseEnvelope good = dsse_sign(kInTotoPayloadType, as_bytes(std::string("{}")), id.key);
    const std::string b64 = base64_encode(std::string(as_chars(id.certificate.public_key_der())));
    std::string pem = "-----BEGIN PUBLIC KEY-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) {
      pem += b64.substr(i, 64) + "\n"; // PEM lines are 64 characters (RFC 7468)
    }
    pem += "-----END PUBLIC KEY-----\n";
    const VerificationKey key = VerificationKey::from_pem(as_bytes(pem), "key.pem");
    CHECK(key.curve().nist_name == "P-384");
    CHECK(key.der() == id.certificate.public_key_der());
    CHECK(dsse_verify(good, key));
  }

  TEST_CASE("a public key that is not one EIF signing supports is refused, naming its file") {
    CHECK(test::error_of([] {
            VerificationKey::from_pem(as_bytes(std::string("junk")), "k.pem");
          }).find("k.pem: no PEM public key") != std::string::npos);
    const std::string rsa = test::make_rsa_key_pem();
    CHECK(test::code_of([&] { VerificationKey::from_pem(as_bytes(rsa), "rsa.pem"); }) ==
          ErrorCode::InvalidInput);
  }

  TEST_CASE("malformed envelopes are Corrupt and name their source") {
    for (const std::string& text :
         {std::string("not json"), std::string("[]"), envelope_with("payloadType", 7),
          envelope_with("payload", nlohmann::json::object()), envelope_with("signatures", "none"),
          envelope_with("signatures", nlohmann::json::array({{{"keyid", "k"}}})),
          envelope_with("payload", "!!!not base64")}) {
      CAPTURE(text);
      const std::string why = test::error_of([&] { parse_dsse(as_bytes(text), "p.jsonl"); });
      CHECK(why.starts_with("p.jsonl"));
    }
    // Errors say which field is wrong.
    nlohmann::json doc = nlohmann::json::parse(envelope_with("payload", base64_encode("{}")));
    doc["signatures"][0]["keyid"] = 42;
    CHECK(test::error_of([&] { parse_dsse(as_bytes(doc.dump()), "p.jsonl"); }) ==
          "p.jsonl: signatures[0].keyid: expected a string, found number");
    CHECK(test::code_of([&] { parse_dsse(as_bytes(doc.dump()), "p.jsonl"); }) ==
          ErrorCode::Corrupt);
  }
}
