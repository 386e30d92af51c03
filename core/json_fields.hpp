// Typed fields of a JSON document, read with errors that name the document and the field.
//
// Every JSON input oci2eif reads (registry manifests and configs, EIF metadata, the daemon's
// config file, build requests, webhook payloads) is read through JsonField, so a wrong document
// gets the same kind of message wherever it came from:
//   "webhook payload: events[0].target.digest: expected a string, found number"
// The caller picks the ErrorCode: Corrupt for bytes a registry served, InvalidInput for what a
// user or a client sent.
//
// Absent and null are told apart from a wrong type. Optional readers treat absent and null alike
// (JSON writers disagree on which of the two means "not set"); required readers say which it was.
// A JsonField is a view: it refers to the document it was made from, which must outlive it.
#pragma once

#include "core/error.hpp"
#include "core/json_text.hpp"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oci2eif {

// How an error names a field. DocumentPath: "<document>: <path>". RequestField:
// "field '<path>'", the wording of the HTTP API's request errors (api/openapi.json).
enum class FieldNaming { DocumentPath, RequestField };

class JsonField {
public:
  // The root of `doc`, named `document` in errors, which are thrown with `code`.
  JsonField(const nlohmann::json& doc, std::string document, ErrorCode code,
            FieldNaming naming = FieldNaming::DocumentPath);

  // The member `key`; absent when this is absent, not an object, or has no such key.
  JsonField operator[](std::string_view key) const;
  // The element `index`; absent when this is absent, not an array, or too short.
  JsonField operator[](std::size_t index) const;

  // The dotted path from the root, e.g. "events[0].target" ("" at the root).
  const std::string& path() const { return path_; }
  // How errors name this field: "<document>: <path>", or the document alone at the root.
  std::string subject() const;
  // True when the field exists (null included).
  bool exists() const { return value_ != nullptr; }
  // True when the field exists and is not null.
  bool present() const { return value_ != nullptr && !value_->is_null(); }

  // Throws Error(code, "<subject>: <problem>").
  [[noreturn]] void fail(const std::string& problem) const;

  // The value, of any type (null included); fails when absent.
  const nlohmann::json& value() const;
  std::string string() const;
  // As string(), but "" fails too.
  std::string non_empty_string() const;
  // nullopt when absent or null.
  std::optional<std::string> optional_string() const;
  // optional_string(), or `fallback` when absent or null.
  std::string string_or(const std::string& fallback) const;
  // A non-negative integer within [min, max].
  std::uint64_t whole_number(std::uint64_t min, std::uint64_t max) const;
  bool boolean() const;
  // An array whose elements are all strings.
  std::vector<std::string> strings() const;
  // As strings(), but absent or null is an empty list.
  std::vector<std::string> optional_strings() const;
  // This field, checked to be an object (or an array).
  JsonField object() const;
  JsonField array() const;
  // The members of an object, in the document's order; fails unless this is an object.
  std::vector<std::pair<std::string, JsonField>> members() const;
  // The elements of an array; fails unless this is an array.
  std::vector<JsonField> elements() const;

private:
  struct Root {
    std::string document;
    ErrorCode code;
    FieldNaming naming;
  };
  JsonField(const nlohmann::json* value, std::shared_ptr<const Root> root, std::string path);
  // Fails with "missing; expected <expected>" or "expected <expected>, found <what this is>";
  // `show_value` names a scalar by its JSON text rather than its type.
  [[noreturn]] void mismatch(const std::string& expected, bool show_value = false) const;

  const nlohmann::json* value_;
  std::shared_ptr<const Root> root_;
  std::string path_;
};

// Parses untrusted `text` with parse_json_bounded (nesting limited to `max_depth`) and requires
// a JSON object at the top; errors name `document` and carry `code`.
nlohmann::json parse_json_object(std::string_view text, const std::string& document, ErrorCode code,
                                 int max_depth = kMaxJsonDepth);

// Untrusted text parsed by parse_json_object and kept, so that fields can be read from its root.
// Neither copied nor moved: the fields it hands out point into it.
class JsonDocument {
public:
  JsonDocument(std::string_view text, const std::string& name, ErrorCode code,
               FieldNaming naming = FieldNaming::DocumentPath, int max_depth = kMaxJsonDepth);
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  const JsonField& root() const { return root_; }
  const nlohmann::json& json() const { return doc_; }

private:
  nlohmann::json doc_;
  JsonField root_;
};

} // namespace oci2eif
