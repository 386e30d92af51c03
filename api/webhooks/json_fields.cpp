#include "api/webhooks/json_fields.hpp"

#include "core/error.hpp"

namespace oci2eif::api::webhooks {

nlohmann::json parse_object(const std::string& source, const std::string& body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::InvalidInput, source + " payload: not valid JSON: " + e.what());
  }
  if (!j.is_object()) {
    throw Error(ErrorCode::InvalidInput, source + " payload: expected a JSON object");
  }
  return j;
}

std::string optional_string(const nlohmann::json& j, const std::string& key,
                            const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) {
    return "";
  }
  if (!j[key].is_string()) {
    throw Error(ErrorCode::InvalidInput, where + "." + key + ": expected a string, found " +
                                             std::string(j[key].type_name()));
  }
  return j[key].get<std::string>();
}

std::string required_string(const nlohmann::json& j, const std::string& key,
                            const std::string& where) {
  std::string s = optional_string(j, key, where);
  if (s.empty()) {
    throw Error(ErrorCode::InvalidInput, where + "." + key + ": required");
  }
  return s;
}

const nlohmann::json& required_member(const nlohmann::json& j, const std::string& key,
                                      const std::string& where, bool want_array) {
  if (!j.is_object() || !j.contains(key) ||
      (want_array ? !j[key].is_array() : !j[key].is_object())) {
    throw Error(ErrorCode::InvalidInput,
                where + "." + key + ": required " + (want_array ? "array" : "object"));
  }
  return j[key];
}

} // namespace oci2eif::api::webhooks
