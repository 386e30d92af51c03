#include "api/auth.hpp"

#include <algorithm>
#include <cctype>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace oci2eif::api {
namespace {

bool same_secret(const std::string& a, const std::string& b) {
  // Length is not secret (tokens have a minimum length); the content comparison is constant time.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The credentials after `scheme` (lower case) in `authorization`: the scheme is
// case-insensitive and followed by one or more spaces (RFC 9110 11.1, 11.4).
std::optional<std::string> credentials(const std::string& authorization, std::string_view scheme) {
  if (authorization.size() <= scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), authorization.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  const std::size_t start = authorization.find_first_not_of(' ', scheme.size());
  if (start == scheme.size() || start == std::string::npos) {
    return std::nullopt; // "Bearerx…" is another scheme; "Bearer " has no token
  }
  return authorization.substr(start);
}

// The password of `Basic base64(user:password)` (RFC 7617), which browsers send: the token.
std::optional<std::string> basic_password(const std::string& authorization) {
  const auto encoded = credentials(authorization, "basic");
  if (!encoded || encoded->size() % 4 != 0 || encoded->size() > 4096) {
    return std::nullopt;
  }
  std::string decoded(encoded->size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(encoded->data()),
                                static_cast<int>(encoded->size()));
  if (n < 0) {
    return std::nullopt;
  }
  // EVP_DecodeBlock counts the padding as decoded zero bytes.
  const std::size_t padding = encoded->ends_with("==") ? 2 : encoded->ends_with("=") ? 1 : 0;
  decoded.resize(static_cast<std::size_t>(n) - padding);
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return decoded.substr(colon + 1);
}

std::optional<std::string> token_of(const std::string& authorization) {
  auto token = credentials(authorization, "bearer");
  return token ? token : basic_password(authorization);
}

} // namespace

std::optional<Problem> Authenticator::check(const std::string& authorization,
                                            server::Role needed) const {
  if (tokens_.empty()) {
    return std::nullopt;
  }
  const std::optional<std::string> token = token_of(authorization);
  if (!token) {
    return Problem{401, "unauthorized",
                   "this API needs an `Authorization: Bearer TOKEN` header (browsers: Basic, "
                   "with the token as the password)"};
  }
  const server::ApiToken* match = nullptr;
  for (const server::ApiToken& t : tokens_) {
    if (same_secret(*token, t.token)) {
      match = &t;
    }
  }
  if (!match) {
    return Problem{401, "unauthorized", "the bearer token is not one this server knows"};
  }
  if (static_cast<int>(match->role) < static_cast<int>(needed)) {
    return Problem{403, "forbidden",
                   "token '" + match->name + "' has role " +
                       std::string(server::role_name(match->role)) + "; this needs role " +
                       std::string(server::role_name(needed))};
  }
  return std::nullopt;
}

} // namespace oci2eif::api
