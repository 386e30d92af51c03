#include "core/error.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>

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
  case ErrorCode::LimitExceeded:
    return "limit_exceeded";
  case ErrorCode::Io:
    return "io";
  case ErrorCode::NoSpace:
    return "disk_full";
  case ErrorCode::Unavailable:
    return "unavailable";
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

Error error_from_exception(const std::exception_ptr& exception) {
  if (!exception) {
    return Error(ErrorCode::Internal, "an error was reported without an exception");
  }
  try {
    std::rethrow_exception(exception);
  } catch (const Error& e) {
    return e;
  } catch (const std::filesystem::filesystem_error& e) {
    return Error(code_for(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return Error(ErrorCode::Internal, "out of memory");
  } catch (const std::exception& e) {
    return Error(ErrorCode::Internal, e.what());
  } catch (...) {
    return Error(ErrorCode::Internal, "an exception of unknown type");
  }
}

Error current_error() {
  return error_from_exception(std::current_exception());
}

} // namespace oci2eif
