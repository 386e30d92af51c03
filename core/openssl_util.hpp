// Private helpers for the .cpp files that talk to OpenSSL (not part of core's interface).
#pragma once

#include "core/bytes.hpp"
#include "core/ec_curve.hpp"
#include "core/error.hpp"
#include "core/sha.hpp"

#include <memory>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string>

namespace oci2eif::openssl {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

inline const EVP_MD* evp_md(HashAlgorithm algorithm) {
  switch (algorithm) {
  case HashAlgorithm::Sha256:
    return EVP_sha256();
  case HashAlgorithm::Sha384:
    return EVP_sha384();
  case HashAlgorithm::Sha512:
    return EVP_sha512();
  }
  throw Error(ErrorCode::Internal, "unknown hash algorithm");
}

// A read-only memory BIO over `data` (which must outlive it).
inline BioPtr memory_bio(ByteView data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// DER bytes of an OpenSSL object through its i2d_* function (i2d_X509, i2d_PUBKEY, ...).
template <typename T>
Bytes to_der(int (*i2d)(const T*, unsigned char**), const T* object, const char* what) {
  unsigned char* der = nullptr;
  const int len = i2d(object, &der);
  if (len <= 0) {
    throw Error(ErrorCode::Internal, std::string("cannot DER-encode ") + what);
  }
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// Drains OpenSSL's thread-local error queue into one line ("" if empty).
inline std::string last_error() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out;
}

// A DER ECDSA-Sig-Value over `message` hashed with `digest`, made by `key` (in memory, or a
// token's key whose EC_KEY method signs there). Throws Internal naming `what`.
inline Bytes digest_sign(EVP_PKEY* key, HashAlgorithm digest, ByteView message,
                         const std::string& what) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, evp_md(digest), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, message.data(), message.size()) != 1) {
    throw Error(ErrorCode::Internal, what + ": ECDSA signing failed: " + last_error());
  }
  Bytes der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, message.data(), message.size()) != 1) {
    throw Error(ErrorCode::Internal, what + ": ECDSA signing failed: " + last_error());
  }
  der.resize(der_len);
  return der;
}

// The OpenSSL group name of an EC key ("secp384r1"); "" when the key has none.
inline std::string ec_group_name(EVP_PKEY* key) {
  char name[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
      1) {
    return "";
  }
  return std::string(name, len);
}

// The supported curve of `key`; throws InvalidInput naming `source` for anything else.
inline const EcCurve& supported_ec_curve(EVP_PKEY* key, const std::string& source) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    const char* name = EVP_PKEY_get0_type_name(key);
    throw Error(
        ErrorCode::InvalidInput,
        source + ": " + (name != nullptr ? name : "this") +
            " keys are not supported; EIF signing needs an EC key on P-256, P-384 or P-521");
  }
  const std::string group = openssl::ec_group_name(key);
  const EcCurve* curve = ec_curve_by_group(group);
  if (curve == nullptr) {
    throw Error(ErrorCode::InvalidInput,
                source + ": EC curve '" + group + "' is not supported; use P-256, P-384 or P-521");
  }
  return *curve;
}

} // namespace oci2eif::openssl
