// Shared helpers of the webhook adapters: parse a body, read typed fields with precise errors.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace oci2eif::api::webhooks {

// Parses `body` as a JSON object; throws InvalidInput ("<source> payload: not valid JSON …").
nlohmann::json parse_object(const std::string& source, const std::string& body);

// The string at `key` of object `j`: "" when absent or null; InvalidInput naming `where.key`
// when it is another type.
std::string optional_string(const nlohmann::json& j, const std::string& key,
                            const std::string& where);
// As optional_string, but absent or empty is InvalidInput too.
std::string required_string(const nlohmann::json& j, const std::string& key,
                            const std::string& where);
// The object (or array, with want_array) at `key`; InvalidInput when absent or another type.
const nlohmann::json& required_member(const nlohmann::json& j, const std::string& key,
                                      const std::string& where, bool want_array = false);

} // namespace oci2eif::api::webhooks
