#include "server/webhook_config.hpp"

#include "core/error.hpp"
#include "core/json_fields.hpp"
#include "server/build_request.hpp"

#include <algorithm>
#include <fnmatch.h>
#include <nlohmann/json.hpp>

namespace oci2eif::server {
namespace {

constexpr std::size_t kMinSecretLength = 16;
constexpr std::uint64_t kMaxDedupeWindow = 7 * 86400;

// A rule's "build": a POST /v1/builds body without "image", checked now by parsing it with a
// placeholder image, so that a bad template fails at start rather than at the first push.
std::string build_template(const JsonField& build) {
  if (!build.present() || !build.value().is_object() || build.value().contains("image")) {
    build.fail("expected a build request object without \"image\" (the push names it)");
  }
  try {
    template_request(build.value().dump());
  } catch (const Error& e) {
    build.fail(e.what());
  }
  return build.value().dump();
}

WebhookRule parse_rule(const JsonField& rule) {
  WebhookRule r;
  for (const auto& [key, value] : rule.members()) {
    if (key == "repository") {
      r.repository = value.string();
    } else if (key == "tag") {
      r.tag = value.string();
    } else if (key == "registry") {
      r.registry = value.string();
      if (r.registry.empty() || r.registry.find_first_of("/@ ") != std::string::npos) {
        value.fail("'" + r.registry + "' is not HOST[:PORT]");
      }
    } else if (key == "build") {
      r.build_json = build_template(value);
    } else {
      value.fail("unknown key (known: repository, tag, registry, build)");
    }
  }
  return r;
}

void add_secrets(WebhookConfig& c, const JsonField& secrets) {
  for (const auto& [source, secret] : secrets.members()) {
    const auto& known = webhook_sources();
    if (std::find(known.begin(), known.end(), source) == known.end()) {
      secret.fail("unknown source (known: distribution, harbor, dockerhub, github)");
    }
    const std::string s = secret.string();
    if (s.size() < kMinSecretLength) {
      secret.fail("shorter than " + std::to_string(kMinSecretLength) + " characters");
    }
    c.secrets[source] = s;
  }
}

} // namespace

const std::vector<std::string>& webhook_sources() {
  static const std::vector<std::string> kSources{"distribution", "harbor", "dockerhub", "github"};
  return kSources;
}

WebhookConfig parse_webhook_config(const JsonField& section) {
  WebhookConfig c;
  for (const auto& [key, value] : section.members()) {
    if (key == "secrets") {
      add_secrets(c, value);
    } else if (key == "rules") {
      for (const JsonField& rule : value.elements()) {
        c.rules.push_back(parse_rule(rule));
      }
    } else if (key == "dedupe_window_seconds") {
      c.dedupe_window = std::chrono::seconds(value.whole_number(0, kMaxDedupeWindow));
    } else {
      value.fail("unknown key (known: secrets, rules, dedupe_window_seconds)");
    }
  }
  return c;
}

BuildRequest template_request(const std::string& build_json) {
  nlohmann::json probe = nlohmann::json::parse(build_json);
  probe["image"] = "docker.io/library/template-check:latest";
  if (probe.contains("push") && probe["push"].is_string()) {
    probe["push"] = render_push_target(probe["push"], "registry.invalid", "template/check", "tag");
  }
  return parse_build_request(probe.dump());
}

std::string render_push_target(const std::string& push, const std::string& registry,
                               const std::string& repository, const std::string& tag) {
  const std::map<std::string, std::string> values{
      {"{registry}", registry}, {"{repository}", repository}, {"{tag}", tag}};
  std::string out;
  for (std::size_t i = 0; i < push.size();) {
    const auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) {
      return push.compare(i, v.first.size(), v.first) == 0;
    });
    if (it == values.end()) {
      out += push[i++];
    } else {
      out += it->second;
      i += it->first.size();
    }
  }
  return out;
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
