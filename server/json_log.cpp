#include "server/json_log.hpp"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

namespace oci2eif::server {
namespace {

class JsonLogFormatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line = json_log_line(msg.time, std::string_view(level.data(), level.size()),
                                           std::string_view(msg.payload.data(), msg.payload.size()),
                                           current_log_fields()) +
                             "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLogFormatter>();
  }
};

} // namespace

std::string rfc3339_utc_ms(std::chrono::system_clock::time_point time) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  // Floor division, so times before 1970 still get a millisecond part in 0..999.
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  const int millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[80]; // room for any int the compiler thinks tm may hold
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view message, const LogFields& fields) {
  nlohmann::ordered_json line;
  line["time"] = rfc3339_utc_ms(time);
  line["level"] = std::string(level);
  line["message"] = std::string(message);
  for (const auto& [key, value] : fields) {
    if (key != "time" && key != "level" && key != "message") {
      line[key] = value;
    }
  }
  // `replace`: a message is whatever a component put in it (a file name from a layer, a
  // registry's error text); invalid UTF-8 must not make the line unparseable or throw.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void use_json_log_format() {
  spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
}

} // namespace oci2eif::server
