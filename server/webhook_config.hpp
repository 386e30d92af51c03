// The "webhooks" section of the daemon's configuration file:
//
//   "webhooks": {
//     "secrets": {"distribution": "…", "harbor": "…", "dockerhub": "…", "github": "…"},
//     "dedupe_window_seconds": 600,
//     "rules": [{"repository": "team/*", "tag": "v*", "registry": "registry.example:5000",
//                "build": {"kernel": "cloud", "cmdline": "…", "labels": {"k": "v"}, …}}]}
//
// A source without a secret is disabled (its endpoint answers 404). Secrets are at least 16
// characters: a bearer/header secret for distribution, harbor and dockerhub, the HMAC key for
// github. Rules are tried in order; the first whose repository and tag globs (fnmatch, `*`
// also matches `/`) match decides. `registry` (host[:port]) is where the build pulls from;
// absent, the host the payload names (docker.io for Docker Hub, ghcr.io for GitHub). `build`
// is a POST /v1/builds body without `image`, validated at start. Its `push` may name the pushed
// image's {registry}, {repository} and {tag}, e.g. "{registry}/{repository}:{tag}-eif" (choose
// a rule tag glob that the EIF's tag does not match: the registry announces that push too).
#pragma once

#include "core/json_fields.hpp"
#include "server/build_request.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::server {

struct WebhookRule {
  std::string repository = "*";
  std::string tag = "*";
  std::string registry;          // "" = the payload's host
  std::string build_json = "{}"; // the template: a build request without "image"
};

struct WebhookConfig {
  std::map<std::string, std::string> secrets; // source → secret
  std::vector<WebhookRule> rules;
  std::chrono::seconds dedupe_window{600};
};

// "distribution", "harbor", "dockerhub", "github".
const std::vector<std::string>& webhook_sources();

// Parses and validates the section; throws the section's error code (InvalidInput from the
// config file) naming the field, e.g. "configuration: c.json: webhooks.rules[0].tag: why".
WebhookConfig parse_webhook_config(const JsonField& section);

// A rule's build template as a request, with a placeholder image and placeholder values in its
// push target; throws InvalidInput as parse_build_request() does.
BuildRequest template_request(const std::string& build_json);

// `push` with {registry}, {repository} and {tag} replaced by the pushed image's.
std::string render_push_target(const std::string& push, const std::string& registry,
                               const std::string& repository, const std::string& tag);

// The first rule matching, or nothing.
const WebhookRule* match_webhook_rule(const WebhookConfig& config, const std::string& repository,
                                      const std::string& tag);

} // namespace oci2eif::server
