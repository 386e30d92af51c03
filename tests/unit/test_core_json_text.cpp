#include "core/error.hpp"
#include "core/json_text.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

TEST_SUITE("core::json_text") {
  TEST_CASE("floats are written in ryu's shortest form, as serde_json writes them") {
    // Expected strings follow the `ryu` crate's documented layout: plain integers up to 16
    // digits get ".0", small magnitudes down to 1e-5 stay positional, the rest use e<exp>.
    auto text = [](const char* json) { return serde_json_text(nlohmann::json::parse(json)); };
    CHECK(text("1e20") == "1e20");
    CHECK(text("1.5e-7") == "1.5e-7");
    CHECK(text("1e15") == "1000000000000000.0");
    CHECK(text("1e16") == "1e16");
    CHECK(text("0.00001") == "0.00001");
    CHECK(text("0.000001") == "1e-6");
    CHECK(text("1.0") == "1.0");
    CHECK(text("-0.0") == "-0.0");
    CHECK(text("123.456") == "123.456");
    CHECK(text("-2.5e-10") == "-2.5e-10");
    CHECK(text("[1,2.5,{\"b\":1,\"a\":[true,null]}]") == "[1,2.5,{\"a\":[true,null],\"b\":1}]");
    CHECK(text("\"tab\\tquote\\\"\\u0001\"") == "\"tab\\tquote\\\"\\u0001\"");
  }

  TEST_CASE("nesting is limited to 128 levels") {
    const std::string ok = std::string(128, '[') + std::string(128, ']');
    CHECK_NOTHROW(parse_json_bounded(ok, "doc"));
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    CHECK_THROWS_WITH_AS(parse_json_bounded(deep, "doc"), "doc nests deeper than 128 levels",
                         Error);
    CHECK_THROWS_AS(parse_json_bounded("{\"a\":", "doc"), Error);
  }
}
