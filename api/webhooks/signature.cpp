#include "api/webhooks/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace oci2eif::api::webhooks {

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string github_signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

bool verify_github_signature(const std::string& secret, const std::string& body,
                             const std::string& header) {
  return !secret.empty() && same_secret(github_signature(secret, body), header);
}

bool authorization_matches(const std::string& secret, const std::string& authorization) {
  if (secret.empty()) {
    return false;
  }
  const std::string bearer = "Bearer ";
  const std::string given =
      authorization.starts_with(bearer) ? authorization.substr(bearer.size()) : authorization;
  return same_secret(secret, given);
}

} // namespace oci2eif::api::webhooks
