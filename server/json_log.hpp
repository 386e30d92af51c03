// The daemon's log as JSON lines (log_format "json"): one object per line, parseable on its own
// whatever the message holds:
//
//   {"time":"2024-02-29T23:59:59.007Z","level":"info","message":"…","build":"b-…"}
//
// time: UTC, RFC 3339 with milliseconds; level: spdlog's name (trace, debug, info, warning,
// error, critical); message: the text, with quotes, backslashes and control characters escaped
// and invalid UTF-8 replaced by U+FFFD; then the thread's structured fields (log_context.hpp),
// e.g. "build" while a worker runs one. A field never replaces time, level or message.
#pragma once

#include "server/log_context.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace oci2eif::server {

// One log line, without the trailing newline.
std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view message, const LogFields& fields);

// "2024-02-29T23:59:59.007Z".
std::string rfc3339_utc_ms(std::chrono::system_clock::time_point time);

// Makes every spdlog logger (the default one included, and those made later) write
// json_log_line()s carrying the logging thread's fields.
void use_json_log_format();

} // namespace oci2eif::server
