#include "api/auth.hpp"

#include <openssl/crypto.h>

namespace oci2eif::api {
namespace {

bool same_secret(const std::string& a, const std::string& b) {
  // Length is not secret (tokens have a minimum length); the content comparison is constant time.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

std::optional<Problem> Authenticator::check(const std::string& authorization,
                                            server::Role needed) const {
  if (tokens_.empty()) {
    return std::nullopt;
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.rfind(kBearer, 0) != 0) {
    return Problem{401, "unauthorized", "this API needs an `Authorization: Bearer TOKEN` header"};
  }
  const std::string token = authorization.substr(kBearer.size());
  const server::ApiToken* match = nullptr;
  for (const server::ApiToken& t : tokens_) {
    if (same_secret(token, t.token)) {
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
