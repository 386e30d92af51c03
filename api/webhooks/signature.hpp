// Webhook authentication: constant-time secret comparison and GitHub's X-Hub-Signature-256
// (HMAC-SHA256 of the raw body, "sha256=" + lower-case hex).
#pragma once

#include <string>

namespace oci2eif::api::webhooks {

// Constant time in the content (the length is not secret).
bool same_secret(const std::string& a, const std::string& b);

// "sha256=<hex>" of HMAC-SHA256(secret, body).
std::string github_signature(const std::string& secret, const std::string& body);

// Whether `header` (X-Hub-Signature-256's value) is the body's signature under `secret`.
bool verify_github_signature(const std::string& secret, const std::string& body,
                             const std::string& header);

// Whether an Authorization header carries `secret`, as "Bearer SECRET" or the bare secret
// (Harbor sends its configured auth header verbatim).
bool authorization_matches(const std::string& secret, const std::string& authorization);

} // namespace oci2eif::api::webhooks
