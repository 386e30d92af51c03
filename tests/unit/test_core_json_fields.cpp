#include "core/error.hpp"
#include "core/json_fields.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using nlohmann::json;

namespace {

const json kDoc = json::parse(R"({
  "name": "app", "empty": "", "nothing": null, "count": 7, "negative": -1, "ratio": 2.5,
  "flag": true, "list": ["a", "b"], "mixed": ["a", 1],
  "events": [{"target": {"digest": 5}}], "object": {"k": "v"}})");

JsonField root(ErrorCode code = ErrorCode::InvalidInput) {
  return JsonField(kDoc, "webhook payload", code);
}

using test::code_of;

} // namespace

TEST_SUITE("core::JsonFields") {
  TEST_CASE("strings are read, and missing, null and other types are told apart") {
    CHECK(root()["name"].string() == "app");
    CHECK(root()["empty"].string().empty());
    CHECK(test::error_of([] { root()["absent"].string(); }) ==
          "webhook payload: absent: missing; expected a string");
    CHECK(test::error_of([] { root()["nothing"].string(); }) ==
          "webhook payload: nothing: expected a string, found null");
    CHECK(test::error_of([] { root()["count"].string(); }) ==
          "webhook payload: count: expected a string, found number");
    CHECK(test::error_of([] { root()["empty"].non_empty_string(); }) ==
          "webhook payload: empty: expected a non-empty string, found \"\"");
  }

  TEST_CASE("optional strings are absent when missing or null, and still type-checked") {
    CHECK(root()["name"].optional_string() == "app");
    CHECK_FALSE(root()["absent"].optional_string());
    CHECK_FALSE(root()["nothing"].optional_string());
    CHECK(root()["nothing"].string_or("x") == "x");
    CHECK(test::error_of([] { root()["flag"].optional_string(); }) ==
          "webhook payload: flag: expected a string, found boolean");
  }

  TEST_CASE("whole numbers are bounded and the refusal shows the value found") {
    CHECK(root()["count"].whole_number(1, 7) == 7);
    CHECK(test::error_of([] { root()["count"].whole_number(1, 6); }) ==
          "webhook payload: count: expected a whole number from 1 to 6, found 7");
    // One allowed value (a schemaVersion) is named as such, not as a range.
    CHECK(test::error_of([] { root()["count"].whole_number(2, 2); }) ==
          "webhook payload: count: expected the number 2, found 7");
    CHECK(test::error_of([] { root()["negative"].whole_number(0, 10); }) ==
          "webhook payload: negative: expected a whole number from 0 to 10, found -1");
    CHECK(test::error_of([] { root()["ratio"].whole_number(0, 10); }) ==
          "webhook payload: ratio: expected a whole number from 0 to 10, found 2.5");
    CHECK(test::error_of([] { root()["name"].whole_number(0, 10); }) ==
          "webhook payload: name: expected a whole number from 0 to 10, found \"app\"");
    CHECK(test::error_of([] {
            root()["negative"].whole_number(0, std::numeric_limits<std::uint64_t>::max());
          }) == "webhook payload: negative: expected a whole number of at least 0, found -1");
    CHECK(test::error_of([] { root()["absent"].whole_number(0, 10); }) ==
          "webhook payload: absent: missing; expected a whole number from 0 to 10");
  }

  TEST_CASE("booleans, objects and arrays are type-checked") {
    CHECK(root()["flag"].boolean());
    CHECK(test::error_of([] { root()["count"].boolean(); }) ==
          "webhook payload: count: expected true or false, found number");
    CHECK(root()["object"].object()["k"].string() == "v");
    CHECK(test::error_of([] { root()["list"].object(); }) ==
          "webhook payload: list: expected an object, found array");
    CHECK(root()["list"].array().elements().size() == 2);
    CHECK(test::error_of([] { root()["object"].elements(); }) ==
          "webhook payload: object: expected an array, found object");
    CHECK(root()["object"].members().at(0).first == "k");
    CHECK(root()["object"].members().at(0).second.path() == "object.k");
  }

  TEST_CASE("string lists name the element that is not a string") {
    CHECK(root()["list"].strings() == std::vector<std::string>{"a", "b"});
    CHECK(root()["absent"].optional_strings().empty());
    CHECK(root()["nothing"].optional_strings().empty());
    CHECK(test::error_of([] { root()["mixed"].strings(); }) ==
          "webhook payload: mixed[1]: expected a string, found number");
    CHECK(test::error_of([] { root()["object"].optional_strings(); }) ==
          "webhook payload: object: expected an array of strings, found object");
  }

  TEST_CASE("messages carry the dotted path, and members of non-objects are absent") {
    CHECK(test::error_of([] { root()["events"][0]["target"]["digest"].string(); }) ==
          "webhook payload: events[0].target.digest: expected a string, found number");
    CHECK_FALSE(root()["name"]["inner"].exists());
    CHECK_FALSE(root()["list"][5].exists());
    CHECK(root()["nothing"].exists());
    CHECK_FALSE(root()["nothing"].present());
    CHECK(test::error_of([] { root()["absent"].value(); }) == "webhook payload: absent: missing");
    CHECK(test::error_of([] { root().fail("bad"); }) == "webhook payload: bad");
  }

  TEST_CASE("the caller chooses the error code and how a field is named") {
    CHECK(code_of([] { root(ErrorCode::Corrupt)["name"].boolean(); }) == ErrorCode::Corrupt);
    CHECK(code_of([] { root()["name"].boolean(); }) == ErrorCode::InvalidInput);
    const JsonField request(kDoc, "request body", ErrorCode::InvalidInput,
                            FieldNaming::RequestField);
    CHECK(test::error_of([&] { request["list"][0].boolean(); }) ==
          "field 'list[0]': expected true or false, found string");
  }

  TEST_CASE("documents must be JSON objects within the nesting limit") {
    const JsonDocument doc(R"({"a": [1]})", "doc", ErrorCode::InvalidInput);
    CHECK(doc.root()["a"][0].whole_number(0, 1) == 1);
    CHECK(test::error_of([] { JsonDocument("[1]", "doc", ErrorCode::Corrupt); }) ==
          "doc: expected a JSON object, found array");
    CHECK(test::error_of([] {
            JsonDocument("{nope", "doc", ErrorCode::Corrupt);
          }).starts_with("doc is not valid JSON: "));
    const std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
    CHECK(code_of([&] { JsonDocument(deep, "doc", ErrorCode::InvalidInput); }) ==
          ErrorCode::InvalidInput);
    CHECK(test::error_of([&] { JsonDocument(deep, "doc", ErrorCode::InvalidInput); }) ==
          "doc nests deeper than 128 levels");
    CHECK(test::error_of([] {
            JsonDocument(R"({"a":[[1]]})", "doc", ErrorCode::Corrupt, FieldNaming::DocumentPath, 2);
          }) == "doc nests deeper than 2 levels");
  }
}
