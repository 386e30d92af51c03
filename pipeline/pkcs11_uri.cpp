#include "pipeline/pkcs11_uri.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cctype>

namespace oci2eif::pipeline {
namespace {

constexpr std::string_view kScheme = "pkcs11:";

[[noreturn]] void refuse(const std::string& subject, const std::string& why) {
  throw Error(ErrorCode::InvalidInput, "PKCS#11 URI " + subject + ": " + why);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

// %-decodes `text`, the value of attribute `name` (named, never echoed: it may be a PIN).
std::string percent_decoded(std::string_view text, const std::string& name,
                            const std::string& subject) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
    if (lo < 0) {
      refuse(subject, "attribute '" + name + "' has a '%' not followed by two hex digits");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// Calls `take(name, value)` for each NAME=VALUE of `part`, split at `separator`.
template <typename Take>
void for_each_attribute(std::string_view part, char separator, const std::string& subject,
                        Take take) {
  while (!part.empty()) {
    const std::size_t end = std::min(part.find(separator), part.size());
    const std::string_view attribute = part.substr(0, end);
    part = part.substr(std::min(end + 1, part.size()));
    const std::size_t eq = attribute.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      const std::string shown(attribute.substr(0, std::min(eq, attribute.size())));
      refuse(subject, "'" + shown + "' is not NAME=VALUE");
    }
    const std::string name(attribute.substr(0, eq));
    take(name, percent_decoded(attribute.substr(eq + 1), name, subject));
  }
}

void set_once(std::optional<std::string>& field, const std::string& name, std::string value,
              const std::string& subject) {
  if (field) {
    refuse(subject, "attribute '" + name + "' is given twice");
  }
  field = std::move(value);
}

unsigned long slot_number(const std::string& text, const std::string& subject) {
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    refuse(subject, "slot-id '" + text + "' is not a decimal number");
  }
  return std::stoul(text);
}

std::optional<std::string>* text_attribute(Pkcs11Uri& u, const std::string& name) {
  if (name == "token") {
    return &u.token;
  }
  if (name == "manufacturer") {
    return &u.manufacturer;
  }
  if (name == "serial") {
    return &u.serial;
  }
  if (name == "model") {
    return &u.model;
  }
  return name == "object" ? &u.object : nullptr;
}

void take_path_attribute(Pkcs11Uri& u, const std::string& name, std::string value) {
  if (std::optional<std::string>* field = text_attribute(u, name)) {
    set_once(*field, name, std::move(value), u.subject);
  } else if (name == "id" || name == "slot-id") {
    if (name == "id" ? u.id.has_value() : u.slot_id.has_value()) {
      refuse(u.subject, "attribute '" + name + "' is given twice");
    }
    if (name == "id") {
      u.id = Bytes(value.begin(), value.end());
    } else {
      u.slot_id = slot_number(value, u.subject);
    }
  } else if (name == "type") {
    if (value != "private") {
      refuse(u.subject, "type=" + value + " cannot sign; name the private key (type=private)");
    }
  } else if (name.rfind("x-", 0) != 0) {
    refuse(u.subject, "path attribute '" + name +
                          "' is not supported (token, manufacturer, serial, model, slot-id, "
                          "object, id, type)");
  }
}

void take_query_attribute(Pkcs11Uri& u, const std::string& name, std::string value) {
  if (name == "pin-value") {
    set_once(u.pin_value, name, std::move(value), u.subject);
  } else if (name == "pin-source") {
    set_once(u.pin_source, name, std::move(value), u.subject);
  } else if (name == "module-path") {
    set_once(u.module_path, name, std::move(value), u.subject);
  } else if (name == "module-name") {
    refuse(u.subject, "module-name is not supported; give module-path, or register the module "
                      "with p11-kit and give neither");
  } else if (name.rfind("x-", 0) != 0) {
    refuse(u.subject,
           "query attribute '" + name + "' is not supported (pin-value, pin-source, module-path)");
  }
}

} // namespace

bool is_pkcs11_uri(std::string_view text) {
  return text.size() >= kScheme.size() &&
         std::equal(kScheme.begin(), kScheme.end(), text.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

Pkcs11Uri parse_pkcs11_uri(std::string_view uri) {
  const std::size_t query = std::min(uri.find('?'), uri.size());
  Pkcs11Uri u;
  u.subject = std::string(uri.substr(0, query));
  if (!is_pkcs11_uri(uri)) {
    refuse("'" + u.subject + "'", "does not start with pkcs11:");
  }
  const std::string_view path = uri.substr(kScheme.size(), query - kScheme.size());
  for_each_attribute(path, ';', u.subject, [&](const std::string& name, std::string value) {
    if (name == "pin-value" || name == "pin-source" || name == "module-path") {
      refuse(u.subject, name + " belongs in the query (after '?'), not in the path");
    }
    take_path_attribute(u, name, std::move(value));
  });
  if (query < uri.size()) {
    for_each_attribute(uri.substr(query + 1), '&', u.subject,
                       [&](const std::string& name, std::string value) {
                         take_query_attribute(u, name, std::move(value));
                       });
  }
  if (u.pin_value && u.pin_source) {
    refuse(u.subject, "give pin-value or pin-source, not both");
  }
  if (!u.object && !u.id) {
    refuse(u.subject, "name the key with object=LABEL or id=%XX…");
  }
  return u;
}

} // namespace oci2eif::pipeline
