#include "core/error.hpp"

#include <cerrno>
#include <cstring>

namespace oci2eif {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
  case ErrorCode::InvalidInput:
    return "invalid_input";
  case ErrorCode::NotFound:
    return "not_found";
  case ErrorCode::Unauthorized:
    return "unauthorized";
  case ErrorCode::RateLimited:
    return "rate_limited";
  case ErrorCode::Timeout:
    return "timeout";
  case ErrorCode::Corrupt:
    return "corrupt";
  case ErrorCode::DigestMismatch:
    return "digest_mismatch";
  case ErrorCode::Unsupported:
    return "unsupported";
  case ErrorCode::Io:
    return "io";
  case ErrorCode::NoSpace:
    return "disk_full";
  case ErrorCode::Cancelled:
    return "cancelled";
  case ErrorCode::Internal:
    return "internal";
  }
  return "internal";
}

void throw_errno(const std::string& what) {
  const int saved = errno;
  throw Error(code_for(std::error_code(saved, std::generic_category())),
              what + ": " + std::strerror(saved));
}

ErrorCode code_for(const std::error_code& ec) {
  const bool full =
      ec == std::errc::no_space_on_device || ec == std::error_code(EDQUOT, std::generic_category());
  return full ? ErrorCode::NoSpace : ErrorCode::Io;
}

} // namespace oci2eif
