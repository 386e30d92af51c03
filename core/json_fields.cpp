#include "core/json_fields.hpp"

#include <limits>

namespace oci2eif {

using nlohmann::json;

JsonField::JsonField(const json& doc, std::string document, ErrorCode code, FieldNaming naming)
    : value_(&doc), root_(std::make_shared<const Root>(Root{std::move(document), code, naming})) {
}

JsonField::JsonField(const json* value, std::shared_ptr<const Root> root, std::string path)
    : value_(value), root_(std::move(root)), path_(std::move(path)) {
}

JsonField JsonField::operator[](std::string_view key) const {
  const json* member = nullptr;
  if (value_ != nullptr && value_->is_object()) {
    if (const auto it = value_->find(key); it != value_->end()) {
      member = &*it;
    }
  }
  return {member, root_, path_.empty() ? std::string(key) : path_ + "." + std::string(key)};
}

JsonField JsonField::operator[](std::size_t index) const {
  const json* element = nullptr;
  if (value_ != nullptr && value_->is_array() && index < value_->size()) {
    element = &(*value_)[index];
  }
  return {element, root_, path_ + "[" + std::to_string(index) + "]"};
}

std::string JsonField::subject() const {
  if (path_.empty()) {
    return root_->document;
  }
  if (root_->naming == FieldNaming::RequestField) {
    return "field '" + path_ + "'";
  }
  return root_->document + ": " + path_;
}

void JsonField::fail(const std::string& problem) const {
  throw Error(root_->code, subject() + ": " + problem);
}

void JsonField::mismatch(const std::string& expected, bool show_value) const {
  if (value_ == nullptr) {
    fail("missing; expected " + expected);
  }
  const bool scalar = value_->is_number() || value_->is_boolean() || value_->is_string();
  std::string found = show_value && scalar ? value_->dump() : std::string(value_->type_name());
  constexpr std::size_t kShown = 40; // a value, not a document, belongs in a message
  if (found.size() > kShown) {
    found = found.substr(0, kShown) + "…";
  }
  fail("expected " + expected + ", found " + found);
}

const json& JsonField::value() const {
  if (value_ == nullptr) {
    fail("missing");
  }
  return *value_;
}

std::string JsonField::string() const {
  if (value_ == nullptr || !value_->is_string()) {
    mismatch("a string");
  }
  return value_->get<std::string>();
}

std::string JsonField::non_empty_string() const {
  std::string s = string();
  if (s.empty()) {
    fail("expected a non-empty string, found \"\"");
  }
  return s;
}

std::optional<std::string> JsonField::optional_string() const {
  if (!present()) {
    return std::nullopt;
  }
  return string();
}

std::string JsonField::string_or(const std::string& fallback) const {
  return present() ? string() : fallback;
}

std::uint64_t JsonField::whole_number(std::uint64_t min, std::uint64_t max) const {
  const std::string expected =
      min == max ? "the number " + std::to_string(min)
      : max == std::numeric_limits<std::uint64_t>::max()
          ? "a whole number of at least " + std::to_string(min)
          : "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  if (value_ == nullptr || !value_->is_number_unsigned()) {
    mismatch(expected, true);
  }
  const std::uint64_t v = value_->get<std::uint64_t>();
  if (v < min || v > max) {
    mismatch(expected, true);
  }
  return v;
}

bool JsonField::boolean() const {
  if (value_ == nullptr || !value_->is_boolean()) {
    mismatch("true or false");
  }
  return value_->get<bool>();
}

std::vector<std::string> JsonField::strings() const {
  if (value_ == nullptr || !value_->is_array()) {
    mismatch("an array of strings");
  }
  std::vector<std::string> out;
  out.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) {
    out.push_back((*this)[i].string());
  }
  return out;
}

std::vector<std::string> JsonField::optional_strings() const {
  return present() ? strings() : std::vector<std::string>{};
}

JsonField JsonField::object() const {
  if (value_ == nullptr || !value_->is_object()) {
    mismatch("an object");
  }
  return *this;
}

JsonField JsonField::array() const {
  if (value_ == nullptr || !value_->is_array()) {
    mismatch("an array");
  }
  return *this;
}

std::vector<std::pair<std::string, JsonField>> JsonField::members() const {
  std::vector<std::pair<std::string, JsonField>> out;
  for (const auto& [key, item] : object().value_->items()) {
    out.emplace_back(key, (*this)[std::string_view(key)]);
  }
  return out;
}

std::vector<JsonField> JsonField::elements() const {
  std::vector<JsonField> out;
  for (std::size_t i = 0; i < array().value_->size(); ++i) {
    out.push_back((*this)[i]);
  }
  return out;
}

json parse_json_object(std::string_view text, const std::string& document, ErrorCode code,
                       int max_depth) {
  json doc = parse_json_bounded(text, document, code, max_depth);
  if (!doc.is_object()) {
    throw Error(code, document + ": expected a JSON object, found " + doc.type_name());
  }
  return doc;
}

JsonDocument::JsonDocument(std::string_view text, const std::string& name, ErrorCode code,
                           FieldNaming naming, int max_depth)
    : doc_(parse_json_object(text, name, code, max_depth)), root_(doc_, name, code, naming) {
}

} // namespace oci2eif
