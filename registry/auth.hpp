// Registry authentication as the distribution spec and docker do it:
//   1. a request answered 401 carries `WWW-Authenticate: Basic realm=…` or
//      `Bearer realm="https://auth/token",service="reg",scope="repository:app:pull"`;
//   2. Basic: send the credentials; Bearer: GET realm?service=…&scope=… (with Basic credentials,
//      or anonymously), or POST an OAuth2 refresh_token grant for an identity token, and send
//      the token returned ("token" or "access_token") until "expires_in" (default 60 s) ends.
// Tokens are cached per scope; the Authenticator belongs to one registry. Secrets never reach
// error messages.
#pragma once

#include "core/interrupt.hpp"
#include "registry/credentials.hpp"
#include "registry/http_client.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::registry {

struct Challenge {
  std::string scheme;                        // lower case: "basic", "bearer"
  std::map<std::string, std::string> params; // keys lower case: realm, service, scope, error
};

// Parses a WWW-Authenticate value (one or more challenges, quoted or token values, escapes).
std::vector<Challenge> parse_www_authenticate(const std::string& value);

// The union of two scope lists (space-separated "type:name:actions" entries): the actions asked
// for one resource are joined ("repository:app:pull" and "repository:app:pull,push" →
// "repository:app:pull,push"), resources and actions in first-seen order. A challenge names
// only what the request in hand needs (a HEAD: pull) while its token is kept for the caller's
// scope (a push: pull,push); a token for the union serves both.
std::string merge_scopes(const std::string& a, const std::string& b);

class Authenticator {
public:
  // `registry` names the registry in messages ("127.0.0.1:5000"). Token requests consult
  // `interrupt` and take at most `token_timeout_ms` each.
  Authenticator(HttpClient& http, std::string registry, std::optional<Credentials> credentials,
                Interrupt interrupt = {}, long token_timeout_ms = 60000);

  // Whether any credentials are configured (for messages).
  bool has_credentials() const { return credentials_.has_value(); }
  // The Authorization header value to send for `scope`, if one is known.
  std::optional<std::string> authorization(const std::string& scope);

  // Handles a 401: works out new credentials for `scope` from the challenge. Returns false if
  // nothing new can be tried (the caller then reports the 401). Throws Unauthorized if a token
  // server refuses. Callers bound how often they call it per request.
  bool on_unauthorized(const HttpResponse& response, const std::string& scope);

private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  Token fetch_token(const Challenge& challenge, const std::string& scope);
  // The token server's request: a refresh-token POST with an identity token, else a GET that
  // carries the username and password (if any) as Basic.
  HttpRequest token_request(const std::string& realm, const std::string& service,
                            const std::string& scope) const;
  // The token in a 200 answer (`token` or `access_token`) and when to renew it; throws Corrupt
  // naming `who` if there is none.
  static Token parse_token_answer(const std::string& body, const std::string& who);

  HttpClient& http_;
  std::string registry_;
  std::optional<Credentials> credentials_;
  Interrupt interrupt_;
  long token_timeout_ms_;
  std::optional<std::string> basic_;    // "Basic …" once the registry asked for it
  std::map<std::string, Token> tokens_; // by scope
};

} // namespace oci2eif::registry
