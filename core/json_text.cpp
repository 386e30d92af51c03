#include "core/json_text.hpp"

#include <charconv>
#include <cmath>

namespace oci2eif {
namespace {

using nlohmann::json;

std::string dump_scalar(const json& v) {
  try {
    return v.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::InvalidInput, std::string("JSON text is not valid UTF-8: ") + e.what());
  }
}

// ryu's layout of the shortest round-trip digits (the `ryu` crate's pretty printer, which
// serde_json uses for f64).
std::string ryu_style(double value) {
  if (!std::isfinite(value)) {
    return "null"; // serde_json writes non-finite floats as null
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, res.ptr); // e.g. "-1.5e-07"
  std::string sign;
  if (sci.front() == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const std::size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  if (digits.size() > 1) {
    digits.erase(1, 1); // drop the '.'
  }
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  const int n = static_cast<int>(digits.size());
  const int k = exponent - (n - 1); // value = digits × 10^k
  const int kk = n + k;             // position of the decimal point
  if (k >= 0 && kk <= 16) {
    return sign + digits + std::string(static_cast<std::size_t>(k), '0') + ".0";
  }
  if (kk > 0 && kk <= 16) {
    return sign + digits.substr(0, static_cast<std::size_t>(kk)) + "." +
           digits.substr(static_cast<std::size_t>(kk));
  }
  if (kk > -5 && kk <= 0) {
    return sign + "0." + std::string(static_cast<std::size_t>(-kk), '0') + digits;
  }
  const std::string mantissa = n == 1 ? digits : digits.substr(0, 1) + "." + digits.substr(1);
  return sign + mantissa + "e" + std::to_string(kk - 1);
}

void write(const json& v, std::string& out) {
  switch (v.type()) {
  case json::value_t::object: {
    out += '{';
    bool first = true;
    for (const auto& [key, item] : v.items()) {
      out += first ? "" : ",";
      first = false;
      out += dump_scalar(json(key));
      out += ':';
      write(item, out);
    }
    out += '}';
    break;
  }
  case json::value_t::array: {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      out += i == 0 ? "" : ",";
      write(v[i], out);
    }
    out += ']';
    break;
  }
  case json::value_t::number_float:
    out += ryu_style(v.get<double>());
    break;
  default:
    out += dump_scalar(v);
  }
}

} // namespace

nlohmann::json parse_json_bounded(std::string_view text, const std::string& what, ErrorCode code,
                                  int max_depth) {
  const json::parser_callback_t limit = [&](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) {
      throw Error(code, what + " nests deeper than " + std::to_string(max_depth) + " levels");
    }
    return true;
  };
  try {
    return json::parse(text, limit);
  } catch (const json::exception& e) {
    throw Error(code, what + " is not valid JSON: " + e.what());
  }
}

std::string serde_json_text(const nlohmann::json& value) {
  std::string out;
  write(value, out);
  return out;
}

bool is_valid_utf8(std::string_view text) {
  try {
    (void)json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::strict);
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

std::string json_text_for_display(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace oci2eif
