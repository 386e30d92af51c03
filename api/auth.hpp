// Bearer-token authorization with roles (read < build < admin); HTTP Basic with the token as the
// password too, which is what a browser can send (the HTML pages, their links to the API). With
// no tokens configured the API is open: the configuration only allows that on a loopback address.
#pragma once

#include "api/problem.hpp"
#include "server/config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oci2eif::api {

// The challenge that makes a browser ask for credentials: any user name, a token as password.
inline constexpr std::string_view kBasicChallenge = "Basic realm=\"oci2eif\", charset=\"UTF-8\"";

class Authenticator {
public:
  explicit Authenticator(std::vector<server::ApiToken> tokens) : tokens_(std::move(tokens)) {}

  // Nothing if `authorization` (the header's value, "" if absent: `Bearer TOKEN`, or for
  // browsers `Basic` with any user name and the token as the password) grants `needed`; else a 401
  // (no or unknown token) or 403 (a token whose role is too low) problem. Tokens are compared
  // in constant time and never appear in the problem.
  std::optional<Problem> check(const std::string& authorization, server::Role needed) const;

private:
  std::vector<server::ApiToken> tokens_;
};

} // namespace oci2eif::api
