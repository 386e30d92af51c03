#include "core/cose_sign1.hpp"
#include "core/eif_reader.hpp"
#include "core/eif_signature.hpp"
#include "core/eif_writer.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/openssl_util.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <openssl/pem.h>

using namespace oci2eif;

using test::error_of;

namespace {

Bytes vector_c_signature_section() {
  const Bytes c = test::read_file(test::vector_file('c'));
  const std::size_t offset = test::vectors_json()["vectors"]["c"]["sections"][5]["offset"];
  return Bytes(c.begin() + static_cast<std::ptrdiff_t>(offset) + 12, c.end());
}

// A key held "elsewhere", as a token holds one: here an OpenSSL key the test reads itself.
class ElsewhereSigner : public EcdsaSigner {
public:
  explicit ElsewhereSigner(const std::string& pem) {
    auto bio = openssl::memory_bio(as_bytes(pem));
    key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  }
  Bytes public_key_der() const override {
    return openssl::to_der(i2d_PUBKEY, key_.get(), "public key");
  }
  Bytes sign_der(ByteView message, HashAlgorithm digest) const override {
    ++calls;
    return openssl::digest_sign(key_.get(), digest, message, "elsewhere");
  }
  mutable int calls = 0;

private:
  openssl::PkeyPtr key_;
};

} // namespace

TEST_SUITE("core::EifSigner") {
  TEST_CASE("a key held elsewhere signs through its EcdsaSigner and is checked as a PEM key is") {
    const test::PemIdentity p384 = test::make_ec_identity("secp384r1");
    const auto elsewhere = std::make_shared<ElsewhereSigner>(p384.private_key);
    const EifSigner signer = EifSigner::from_key(
        as_bytes(p384.certificate), SigningKey::from_signer(elsewhere, "token key"), "c", "k");
    const Bytes pcr0(48, 7);
    const auto entries = decode_signature_section(signer.signature_section(pcr0));
    REQUIRE(entries.size() == 1);
    const CoseSign1 cose = cose_sign1_parse(entries[0].signature, "ours");
    CHECK(cose.signature.size() == 96); // raw r‖s of P-384, from the DER the signer returned
    CHECK(cose_sign1_verify(cose, Certificate::from_pem(as_bytes(p384.certificate), "c")));
    CHECK(elsewhere->calls == 1);

    const test::PemIdentity other = test::make_ec_identity("secp384r1");
    CHECK(error_of([&] {
            EifSigner::from_key(as_bytes(other.certificate),
                                SigningKey::from_signer(elsewhere, "pkcs11:object=k"), "cert.pem",
                                "pkcs11:object=k");
          }) == "pkcs11:object=k: this private key does not belong to the certificate cert.pem");
    CHECK(error_of([&] {
            SigningKey::from_signer(std::make_shared<ElsewhereSigner>(test::make_rsa_key_pem()),
                                    "pkcs11:object=rsa");
          }) == "pkcs11:object=rsa: RSA keys are not supported; EIF signing needs an EC key on "
                "P-256, P-384 or P-521");
  }

  TEST_CASE("AWS's signature in vector C parses and verifies with our COSE code") {
    const auto entries = decode_signature_section(vector_c_signature_section());
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].signing_certificate ==
          test::read_file(test::vector_input("signing-cert-p384.pem")));
    const CoseSign1 cose = cose_sign1_parse(entries[0].signature, "vector C");
    CHECK(to_hex(cose.protected_header) == "a1013822");
    CHECK(cose.algorithm == -35);
    const Certificate cert = Certificate::from_pem(entries[0].signing_certificate, "cert");
    CHECK(cose_sign1_verify(cose, cert));
    const PcrInfo pcr = decode_pcr_info(cose.payload, "payload");
    CHECK(pcr.register_index == 0);
    CHECK(to_hex(pcr.register_value) ==
          test::vectors_json()["vectors"]["c"]["measurements"]["PCR0"].get<std::string>());
    // And the payload we would write for that PCR0 is byte-identical to AWS's.
    CHECK(encode_pcr_info(pcr) == cose.payload);
  }

  TEST_CASE("our signature section has serde_cbor's layout, as in vector C") {
    const EifSigner signer = EifSigner::load(test::vector_input("signing-cert-p384.pem"),
                                             test::vector_input("signing-key-p384.pem"));
    const Bytes ours = signer.signature_section(Bytes(48, 0));
    const Bytes aws = vector_c_signature_section();
    // array(1), map(2), text(19) "signing_certificate", array(765) of uints: same prefix.
    const std::size_t prefix = 1 + 1 + 1 + 19 + 3 + 2;
    CHECK(std::equal(aws.begin(), aws.begin() + prefix, ours.begin()));
  }

  TEST_CASE("sign and verify round trip on P-256, P-384 and P-521") {
    for (const char* curve : {"prime256v1", "secp384r1", "secp521r1"}) {
      CAPTURE(curve);
      const test::PemIdentity id = test::make_ec_identity(curve);
      const EifSigner signer =
          EifSigner::from_pem(as_bytes(id.certificate), as_bytes(id.private_key));
      FileSource kernel(test::vector_input("kernel.bin"));
      FileSource r0(test::vector_input("ramdisk-bootstrap.cpio"));
      FileSource r1(test::vector_input("ramdisk-customer.cpio"));
      EifContents contents;
      contents.kernel = &kernel;
      const Bytes cmdline = test::read_file(test::vector_input("cmdline.txt"));
      contents.cmdline.assign(cmdline.begin(), cmdline.end());
      contents.ramdisks = {&r0, &r1};
      contents.signer = &signer;
      VectorSink out;
      const EifWriteResult written = write_eif(contents, out);
      MemorySource in(out.bytes(), "signed.eif");
      const EifInfo info = read_eif(in, "signed.eif", {});
      REQUIRE(info.signature.has_value());
      CHECK(info.measurements.pcr0 == written.measurements.pcr0);
      CHECK(info.measurements.pcr8 == written.measurements.pcr8);
      const Certificate cert = Certificate::from_pem(as_bytes(id.certificate), "c");
      CHECK(*info.measurements.pcr8 == pcr8_of(cert));
      // The signed part (PCR0) does not depend on the key.
      CHECK(to_hex(info.measurements.pcr0) ==
            test::vectors_json()["vectors"]["a"]["measurements"]["PCR0"].get<std::string>());
    }
  }

  TEST_CASE("keys that cannot sign are refused with the file named") {
    const test::PemIdentity p384 = test::make_ec_identity("secp384r1");
    const test::PemIdentity other = test::make_ec_identity("secp384r1");
    CHECK(error_of([&] {
            EifSigner::from_pem(as_bytes(p384.certificate), as_bytes(other.private_key), "cert.pem",
                                "key.pem");
          }) == "key.pem: this private key does not belong to the certificate cert.pem");
    CHECK(error_of([&] {
            EifSigner::from_pem(as_bytes(p384.certificate), as_bytes(test::make_rsa_key_pem()),
                                "cert.pem", "rsa.pem");
          }) == "rsa.pem: RSA keys are not supported; EIF signing needs an EC key on P-256, P-384 "
                "or P-521");
    CHECK(error_of([&] {
            EifSigner::from_pem(as_bytes(p384.certificate),
                                as_bytes(test::make_encrypted_ec_key_pem()), "cert.pem", "enc.pem");
          }) == "enc.pem: the private key is encrypted; provide it unencrypted");
    CHECK(error_of([&] {
            EifSigner::from_pem(as_bytes("hello"), as_bytes(p384.private_key), "cert.pem",
                                "key.pem");
          }) == "cert.pem: no PEM certificate found");
    CHECK(error_of([&] {
            EifSigner::from_pem(as_bytes(p384.certificate), as_bytes("hello"), "cert.pem",
                                "key.pem");
          }) == "key.pem: no PEM private key found");
    CHECK(error_of([&] { EifSigner::load("/nonexistent/cert.pem", "/nonexistent/key.pem"); }) ==
          "cannot open /nonexistent/cert.pem: No such file or directory");
  }

  TEST_CASE("an unsupported curve is refused") {
    const test::PemIdentity k1 = test::make_ec_identity("secp256k1");
    CHECK(error_of([&] {
            EifSigner::from_pem(as_bytes(k1.certificate), as_bytes(k1.private_key), "c", "k1.pem");
          }) == "k1.pem: EC curve 'secp256k1' is not supported; use P-256, P-384 or P-521");
  }
}
