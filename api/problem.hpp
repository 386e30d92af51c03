// Errors as the API shows them: RFC 9457 application/problem+json with a stable `code` (the
// ErrorCode's name, or an API-specific one such as "unknown_field") and a precise `detail`.
#pragma once

#include "core/error.hpp"

#include <string>

namespace oci2eif::api {

struct Problem {
  int status = 500;
  std::string code;   // stable, lower_snake_case
  std::string detail; // for a person: what was wrong and what to do
};

// The HTTP status for an error code: invalid_input/unsupported 400, unauthorized 401,
// not_found 404, cancelled 409, corrupt/digest_mismatch 422, rate_limited 429, timeout 504,
// disk_full 503 (with Retry-After), io/internal 500. Any other exception is first made an
// Error by current_error() / error_from_exception() (core/error.hpp).
Problem problem_for(const Error& error);

// {"type": "about:blank", "title": …, "status": …, "code": …, "detail": …}
std::string problem_json(const Problem& problem);

} // namespace oci2eif::api
