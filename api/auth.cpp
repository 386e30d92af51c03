#include "api/auth.hpp"

#include <algorithm>
#include <cctype>
#include <openssl/crypto.h>

namespace oci2eif::api {
namespace {

bool same_secret(const std::string& a, const std::string& b) {
  // Length is not secret (tokens have a minimum length); the content comparison is constant time.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The credentials of `Bearer TOKEN`: the scheme is case-insensitive and followed by one or more
// spaces (RFC 9110 11.1, 11.4).
std::optional<std::string> bearer_token(const std::string& authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  const std::size_t start = authorization.find_first_not_of(' ', kScheme.size());
  if (start == kScheme.size() || start == std::string::npos) {
    return std::nullopt; // "Bearerx…" is another scheme; "Bearer " has no token
  }
  return authorization.substr(start);
}

} // namespace

std::optional<Problem> Authenticator::check(const std::string& authorization,
                                            server::Role needed) const {
  if (tokens_.empty()) {
    return std::nullopt;
  }
  const std::optional<std::string> token = bearer_token(authorization);
  if (!token) {
    return Problem{401, "unauthorized", "this API needs an `Authorization: Bearer TOKEN` header"};
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
