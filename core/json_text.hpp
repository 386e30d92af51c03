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

} // namespace oci2eif
