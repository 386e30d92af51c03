#include "core/certificate.hpp"

#include "core/ec_curve.hpp"
#include "core/error.hpp"
#include "core/openssl_util.hpp"
#include "core/pcr.hpp"
#include "core/sha.hpp"
#include "core/verification_key.hpp"

#include <ctime>
#include <openssl/asn1.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

namespace oci2eif {

struct Certificate::Impl {
  openssl::X509Ptr cert;
};

namespace {

std::string asn1_time_text(const ASN1_TIME* t) {
  openssl::BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::int64_t asn1_time_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    throw Error(ErrorCode::Corrupt, "certificate has an unreadable validity date");
  }
  return static_cast<std::int64_t>(::timegm(&tm));
}

std::string colon_hex_upper(ByteView data) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i > 0) {
      out += ':';
    }
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

} // namespace

// COSE carries r‖s; OpenSSL verifies DER ECDSA-Sig-Value.
Bytes raw_to_der_signature(ByteView raw) {
  const std::size_t half = raw.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr);
  ECDSA_SIG_set0(sig, r, s);
  Bytes out = openssl::to_der(i2d_ECDSA_SIG, sig, "an ECDSA signature");
  ECDSA_SIG_free(sig);
  return out;
}

Certificate Certificate::from_pem(ByteView pem, const std::string& source) {
  auto bio = openssl::memory_bio(pem);
  openssl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    openssl::last_error();
    throw Error(ErrorCode::Corrupt, source + ": no PEM certificate found"); // a bad file: exit 1
  }
  Certificate c;
  auto impl = std::make_shared<Impl>();
  impl->cert = std::move(cert);
  c.impl_ = std::move(impl);
  return c;
}

Bytes Certificate::der() const {
  return openssl::to_der(i2d_X509, impl_->cert.get(), "the certificate");
}

Bytes Certificate::public_key_der() const {
  return openssl::to_der(i2d_PUBKEY, X509_get0_pubkey(impl_->cert.get()),
                         "the certificate's public key");
}

CertificateInfo Certificate::info() const {
  X509* x = impl_->cert.get();
  CertificateInfo info;
  const X509_NAME* issuer = X509_get_issuer_name(x);
  for (int i = 0; i < X509_NAME_entry_count(issuer); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(issuer, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len >= 0) {
      info.issuer.emplace_back(
          nid == NID_undef ? "undefined" : OBJ_nid2ln(nid),
          std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len)));
      OPENSSL_free(utf8);
    }
  }
  info.algorithm = OBJ_nid2ln(X509_get_signature_nid(x));
  info.not_before = asn1_time_text(X509_get0_notBefore(x));
  info.not_after = asn1_time_text(X509_get0_notAfter(x));
  const ASN1_BIT_STRING* sig = nullptr;
  X509_get0_signature(&sig, nullptr, x);
  info.signature = colon_hex_upper(
      ByteView(ASN1_STRING_get0_data(sig), static_cast<std::size_t>(ASN1_STRING_length(sig))));
  return info;
}

std::int64_t Certificate::not_before_unix() const {
  return asn1_time_unix(X509_get0_notBefore(impl_->cert.get()));
}

std::int64_t Certificate::not_after_unix() const {
  return asn1_time_unix(X509_get0_notAfter(impl_->cert.get()));
}

std::string Certificate::ec_group() const {
  EVP_PKEY* key = X509_get0_pubkey(impl_->cert.get());
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return "";
  }
  return openssl::ec_group_name(key);
}

bool Certificate::verify_ecdsa(ByteView message, ByteView raw_signature) const {
  const EcCurve* curve = ec_curve_by_group(ec_group());
  if (curve == nullptr || raw_signature.size() != 2 * curve->coordinate_size) {
    return false;
  }
  return VerificationKey::from_certificate(*this, "the certificate")
      .verify_ecdsa_der(message, raw_to_der_signature(raw_signature));
}

Bytes pcr8_of(const Certificate& certificate) {
  return pcr_extend_from_zero(sha384(certificate.der()));
}

} // namespace oci2eif
