#include "api/problem.hpp"

#include "core/error.hpp"
#include "core/json_text.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif::api {
namespace {

int status_for(ErrorCode code) {
  switch (code) {
  case ErrorCode::InvalidInput:
  case ErrorCode::Unsupported:
    return 400;
  case ErrorCode::Unauthorized:
    return 401;
  case ErrorCode::NotFound:
    return 404;
  case ErrorCode::Cancelled:
    return 409;
  case ErrorCode::Corrupt:
  case ErrorCode::DigestMismatch:
  case ErrorCode::LimitExceeded:
    return 422;
  case ErrorCode::RateLimited:
    return 429;
  case ErrorCode::Timeout:
    return 504;
  case ErrorCode::NoSpace:
    return 503; // the service's disk, not the request: retry later (with Retry-After)
  case ErrorCode::Unavailable:
    return 503; // the database or object store, not the request: retry later (Retry-After)
  case ErrorCode::Io:
  case ErrorCode::Internal:
    return 500;
  }
  return 500;
}

std::string title_for(int status) {
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 409:
    return "Conflict";
  case 413:
    return "Payload Too Large";
  case 422:
    return "Unprocessable Content";
  case 429:
    return "Too Many Requests";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "Internal Server Error";
  }
}

} // namespace

Problem problem_for(const Error& error) {
  return {status_for(error.code()), std::string(error_code_name(error.code())), error.what()};
}

std::string problem_json(const Problem& p) {
  return json_text_for_display(nlohmann::json{{"type", "about:blank"},
                                              {"title", title_for(p.status)},
                                              {"status", p.status},
                                              {"code", p.code},
                                              {"detail", p.detail}});
}

} // namespace oci2eif::api
