// The one error vocabulary of oci2eif.
//
// Components throw `oci2eif::Error` (and nothing else) across their boundaries. The code lets a
// caller decide what to do (retry, map to an HTTP status, exit code); the message is for a person
// and names the subject: which file, which section, which layer, which path.
//
// Exceptions rather than a Result<T> type: the pipeline is deep (format → stream → file) and
// almost every failure aborts the whole operation, so unwinding is the natural control flow.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace oci2eif {

enum class ErrorCode {
  InvalidInput,   // the caller's request or arguments are wrong
  NotFound,       // a named thing does not exist
  Unauthorized,   // credentials missing or rejected
  RateLimited,    // try again later
  Timeout,        // an operation took too long
  Corrupt,        // input bytes are malformed (bad format, bad CRC, bad signature)
  DigestMismatch, // content does not match its declared digest
  Unsupported,    // well-formed, but something we deliberately do not handle
  LimitExceeded,  // the input is larger than a configured limit (entries, bytes, EIF size)
  Io,             // the operating system refused a read or write
  NoSpace,        // a disk (or quota) is full: not the input's fault; retry once space is freed
  Unavailable,    // a service we depend on (database, object store) cannot be reached: retry later
  Cancelled,      // the operation was stopped on request
  Internal,       // a bug: an invariant did not hold
};

// Stable lower_snake_case name of a code, e.g. "digest_mismatch" (used in APIs and logs).
std::string_view error_code_name(ErrorCode code);

class Error : public std::runtime_error {
public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

private:
  ErrorCode code_;
};

// Throws Error(code, "<what>: <strerror(errno)>") right after a failed syscall; the code is
// NoSpace for ENOSPC and EDQUOT, else Io.
[[noreturn]] void throw_errno(const std::string& what);

// The code for a failed operating-system call reported as std::error_code (std::filesystem):
// NoSpace for "no space on device" and "disk quota exceeded", else Io.
ErrorCode code_for(const std::error_code& ec);

// The one mapping from an exception to the error vocabulary, so that every edge (the CLI's exit
// code, the API's problem+json, a build's outcome) classifies a failure the same way:
//   Error                              itself
//   std::filesystem::filesystem_error  NoSpace for "no space"/"quota exceeded", else Io; its
//                                      message names the operation and the path(s)
//   std::bad_alloc                     Internal, "out of memory"
//   other std::exception               Internal, with its what(): we did not expect it, a bug
//   anything else, or a null pointer   Internal
// Never throws (but for bad_alloc while building the message).
Error error_from_exception(const std::exception_ptr& exception);

// error_from_exception(std::current_exception()). REQUIRES: called inside a catch block.
Error current_error();

} // namespace oci2eif
