// JSON log lines: every line parses, whatever the message holds, and carries the thread's fields.
#include "server/json_log.hpp"
#include "server/log_context.hpp"

#include <doctest/doctest.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sstream>
#include <thread>

using namespace oci2eif::server;
using nlohmann::json;

namespace {

// 2024-02-29T23:59:59.007Z
const std::chrono::system_clock::time_point kLeapSecondish{
    std::chrono::milliseconds(1709251199007)};

json parse_line(const std::string& line) {
  REQUIRE(line.find('\n') == std::string::npos);
  return json::parse(line); // throws (failing the test) if it is not JSON
}

} // namespace

TEST_SUITE("server::json_log") {
  TEST_CASE("a line has time (UTC, RFC 3339, ms), level and message, in that order") {
    const std::string line = json_log_line(kLeapSecondish, "info", "build started", {});
    CHECK(line ==
          R"({"time":"2024-02-29T23:59:59.007Z","level":"info","message":"build started"})");
  }

  TEST_CASE("times keep their milliseconds, also on a whole second and before 1970") {
    using std::chrono::milliseconds;
    CHECK(rfc3339_utc_ms(std::chrono::system_clock::time_point(milliseconds(0))) ==
          "1970-01-01T00:00:00.000Z");
    CHECK(rfc3339_utc_ms(std::chrono::system_clock::time_point(milliseconds(-1))) ==
          "1969-12-31T23:59:59.999Z");
  }

  TEST_CASE("hostile messages still make one valid JSON line that says the same") {
    const std::string cases[] = {
        R"(she said "hi")",     R"(C:\path\to\file \" \\)",
        "two\nlines\r\n",       std::string("nul\0in", 6),
        "bell\x01\x07\x1f\x7f", "tab\there",
        "ünïcödé ✓ 🚀",          "</script>{\"message\":1}",
    };
    for (const std::string& message : cases) {
      const std::string line = json_log_line(kLeapSecondish, "warning", message, {});
      const json j = parse_line(line);
      CHECK(j["message"] == message);
      CHECK(j["level"] == "warning");
    }
  }

  TEST_CASE("invalid UTF-8 is replaced with U+FFFD, and the line stays valid JSON") {
    const std::string message = "bad \xff\xfe byte, truncated \xe2\x82 and overlong \xc0\xaf.";
    const json j = parse_line(json_log_line(kLeapSecondish, "error", message, {}));
    const std::string text = j["message"];
    CHECK(text.find("bad \xEF\xBF\xBD") == 0);
    CHECK(text.find('\xff') == std::string::npos);
    CHECK(text.find("byte, truncated ") != std::string::npos);
    CHECK(text.back() == '.');
  }

  TEST_CASE("fields follow the message - they never replace time, level or message") {
    const LogFields fields{{"build", "b-0123"}, {"message", "spoofed"}, {"key\"x", "v\n"}};
    const json j = parse_line(json_log_line(kLeapSecondish, "info", "m", fields));
    CHECK(j["build"] == "b-0123");
    CHECK(j["message"] == "m");
    CHECK(j["key\"x"] == "v\n");
  }

  TEST_CASE("scoped fields belong to their thread and nest") {
    CHECK(current_log_fields().empty());
    {
      const ScopedLogField build("build", "b-1");
      {
        const ScopedLogField inner("build", "b-2");
        const json j = parse_line(json_log_line(kLeapSecondish, "info", "x", current_log_fields()));
        CHECK(j["build"] == "b-2");
      }
      std::thread other([] { CHECK(current_log_fields().empty()); });
      other.join();
      REQUIRE(current_log_fields().size() == 1);
      CHECK(current_log_fields()[0].second == "b-1");
    }
    CHECK(current_log_fields().empty());
  }

  TEST_CASE("spdlog writes JSON lines with the thread's build once the format is installed") {
    std::ostringstream out;
    auto logger = std::make_shared<spdlog::logger>(
        "json-log-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    spdlog::register_logger(logger);
    use_json_log_format();
    {
      const ScopedLogField build("build", "b-42");
      logger->warn("layer {} has \"{}\"\n\x01", 3, "quotes\\");
    }
    logger->info(std::string("invalid \xff"));
    spdlog::drop("json-log-test");
    spdlog::set_formatter(std::make_unique<spdlog::pattern_formatter>()); // the default again
    std::istringstream lines(out.str());
    std::string first, second, rest;
    REQUIRE(std::getline(lines, first));
    REQUIRE(std::getline(lines, second));
    CHECK_FALSE(std::getline(lines, rest));
    const json a = parse_line(first), b = parse_line(second);
    CHECK(a["level"] == "warning");
    CHECK(a["message"] == "layer 3 has \"quotes\\\"\n\x01");
    CHECK(a["build"] == "b-42");
    CHECK(std::string(a["time"]).size() == std::string("2024-02-29T23:59:59.007Z").size());
    CHECK(b["level"] == "info");
    CHECK(b["message"] == "invalid \xEF\xBF\xBD");
    CHECK_FALSE(b.contains("build"));
  }
}
