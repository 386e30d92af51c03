#include "server/webhook_config.hpp"

#include "core/error.hpp"
#include "server/build_request.hpp"

#include <algorithm>
#include <fnmatch.h>
#include <nlohmann/json.hpp>

namespace oci2eif::server {
namespace {

constexpr std::size_t kMinSecretLength = 16;

[[noreturn]] void invalid(const std::string& where, const std::string& why) {
  throw Error(ErrorCode::InvalidInput, "configuration: " + where + ": " + why);
}

std::string text_at(const nlohmann::json& j, const std::string& where) {
  if (!j.is_string()) {
    invalid(where, "expected a string, found " + std::string(j.type_name()));
  }
  return j.get<std::string>();
}

WebhookRule parse_rule(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) {
    invalid(where, "expected an object");
  }
  WebhookRule r;
  for (const auto& [key, value] : j.items()) {
    const std::string at = where + "." + key;
    if (key == "repository") {
      r.repository = text_at(value, at);
    } else if (key == "tag") {
      r.tag = text_at(value, at);
    } else if (key == "registry") {
      r.registry = text_at(value, at);
      if (r.registry.empty() || r.registry.find_first_of("/@ ") != std::string::npos) {
        invalid(at, "'" + r.registry + "' is not HOST[:PORT]");
      }
    } else if (key == "build") {
      if (!value.is_object() || value.contains("image")) {
        invalid(at, "expected a build request object without \"image\" (the push names it)");
      }
      nlohmann::json probe = value;
      probe["image"] = "oci-layout:/template-check";
      try {
        parse_build_request(probe.dump());
      } catch (const Error& e) {
        invalid(at, e.what());
      }
      r.build_json = value.dump();
    } else {
      invalid(at, "unknown key (known: repository, tag, registry, build)");
    }
  }
  return r;
}

} // namespace

const std::vector<std::string>& webhook_sources() {
  static const std::vector<std::string> kSources{"distribution", "harbor", "dockerhub", "github"};
  return kSources;
}

WebhookConfig parse_webhook_config(const nlohmann::json& section, const std::string& where) {
  if (!section.is_object()) {
    invalid(where, "expected an object");
  }
  WebhookConfig c;
  for (const auto& [key, value] : section.items()) {
    const std::string at = where + "." + key;
    if (key == "secrets") {
      if (!value.is_object()) {
        invalid(at, "expected an object of source: secret");
      }
      for (const auto& [source, secret] : value.items()) {
        const auto& known = webhook_sources();
        if (std::find(known.begin(), known.end(), source) == known.end()) {
          invalid(at + "." + source, "unknown source (known: distribution, harbor, dockerhub, "
                                     "github)");
        }
        const std::string s = text_at(secret, at + "." + source);
        if (s.size() < kMinSecretLength) {
          invalid(at + "." + source,
                  "shorter than " + std::to_string(kMinSecretLength) + " characters");
        }
        c.secrets[source] = s;
      }
    } else if (key == "rules") {
      if (!value.is_array()) {
        invalid(at, "expected an array");
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        c.rules.push_back(parse_rule(value[i], at + "[" + std::to_string(i) + "]"));
      }
    } else if (key == "dedupe_window_seconds") {
      if (!value.is_number_unsigned() || value.get<std::uint64_t>() > 7 * 86400) {
        invalid(at, "expected a whole number of seconds from 0 to 604800");
      }
      c.dedupe_window = std::chrono::seconds(value.get<std::uint64_t>());
    } else {
      invalid(at, "unknown key (known: secrets, rules, dedupe_window_seconds)");
    }
  }
  return c;
}

const WebhookRule* match_webhook_rule(const WebhookConfig& config, const std::string& repository,
                                      const std::string& tag) {
  for (const WebhookRule& r : config.rules) {
    if (::fnmatch(r.repository.c_str(), repository.c_str(), 0) == 0 &&
        ::fnmatch(r.tag.c_str(), tag.c_str(), 0) == 0) {
      return &r;
    }
  }
  return nullptr;
}

} // namespace oci2eif::server
