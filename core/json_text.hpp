// JSON text in and out for documents that cross a trust or compatibility boundary.
//
// parse_json_bounded(): nlohmann's parser with a nesting limit (128, serde_json's default, unless
// the caller asks for less), so a hostile document cannot exhaust the stack of whatever later
// walks it.
//
// serde_json_text(): compact JSON exactly as Rust's serde_json writes a Value, which is what
// AWS's tools put in an EIF's metadata section: object keys sorted bytewise, strings escaped the
// same way, and floats in ryu's shortest form ("1e20", "1.5e-7", "1000000000000000.0", "0.00001")
// where nlohmann would write "1e+20" or "1.5e-07".
#pragma once

#include "core/error.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace oci2eif {

inline constexpr int kMaxJsonDepth = 128;

// Throws Error(code, "<what> is not valid JSON: …" or "… nests deeper than <max_depth> levels").
nlohmann::json parse_json_bounded(std::string_view text, const std::string& what,
                                  ErrorCode code = ErrorCode::Corrupt,
                                  int max_depth = kMaxJsonDepth);

// Throws InvalidInput if a string is not valid UTF-8.
std::string serde_json_text(const nlohmann::json& value);

// Whether `text` is valid UTF-8 (what a JSON string may hold), checked by nlohmann's encoder.
bool is_valid_utf8(std::string_view text);

// Compact JSON for a response or a log: bytes that are not UTF-8 (in an error message quoting
// a registry's header, a path from a request) become U+FFFD instead of making the dump throw.
std::string json_text_for_display(const nlohmann::json& value);

} // namespace oci2eif
