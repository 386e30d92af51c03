#include "api/webhooks/webhook_handler.hpp"

#include "api/webhooks/push_event.hpp"
#include "api/webhooks/signature.hpp"
#include "core/error.hpp"
#include "server/build_request.hpp"
#include "server/disk_space.hpp"
#include "server/push_targets.hpp"
#include "server/webhook_config.hpp"

namespace oci2eif::api::webhooks {
namespace {

ParsedDelivery parse(const WebhookDelivery& d) {
  if (d.source == "distribution") {
    return parse_distribution(d.body);
  }
  if (d.source == "harbor") {
    return parse_harbor(d.body);
  }
  if (d.source == "dockerhub") {
    return parse_dockerhub(d.body);
  }
  return parse_github(d.body, d.github_event);
}

std::string default_host(const std::string& source) {
  if (source == "dockerhub") {
    return "docker.io";
  }
  if (source == "github") {
    return "ghcr.io";
  }
  return "";
}

// The rule's build template with the pushed image (also in its `push` target) and the webhook's
// labels, validated as a POST /v1/builds body would be.
server::BuildRequest build_request_for(const std::string& source, const PushEvent& push,
                                       const server::WebhookRule& rule, const std::string& host,
                                       const std::vector<std::string>& push_targets) {
  nlohmann::json request = nlohmann::json::parse(rule.build_json);
  request["image"] =
      host + "/" + push.repository + (push.digest ? "@" + *push.digest : ":" + push.tag);
  request["labels"]["webhook.source"] = source;
  request["labels"]["webhook.tag"] = push.tag;
  if (request.contains("push")) {
    request["push"] = server::render_push_target(request["push"], host, push.repository, push.tag);
  }
  server::BuildRequest build = server::parse_build_request(request.dump());
  if (build.push) {
    server::check_push_allowed(push_targets, *build.push);
  }
  return build;
}

// The referrers fallback tag of OCI distribution 1.1 ("sha256-" and 64 hex digits): an index the
// registry announces when an artifact (an EIF pushed by a build) is attached to an image; never
// an image to build.
bool is_referrers_tag(const std::string& tag) {
  return tag.size() == 71 && tag.rfind("sha256-", 0) == 0 &&
         tag.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

WebhookReply problem(int status, std::string code, std::string detail, std::string outcome) {
  WebhookReply r;
  r.problem = Problem{status, std::move(code), std::move(detail)};
  r.status = status;
  r.outcome = std::move(outcome);
  return r;
}

} // namespace

WebhookHandler::WebhookHandler(const server::ServeConfig& config, server::JobStore& store,
                               server::WebhookDedupe& dedupe, std::function<void()> notify)
    : config_(config), store_(store), dedupe_(dedupe), notify_(std::move(notify)) {
}

std::optional<WebhookReply> WebhookHandler::refuse_unauthenticated(const WebhookDelivery& d) const {
  const auto secret = config_.webhooks.secrets.find(d.source);
  if (secret == config_.webhooks.secrets.end()) {
    return problem(404, "webhook_disabled",
                   "the " + d.source + " webhook is not enabled on this server (configure " +
                       "webhooks.secrets." + d.source + ")",
                   "disabled");
  }
  if (d.source == "github") {
    if (!verify_github_signature(secret->second, d.body, d.signature)) {
      return problem(401, "bad_signature",
                     "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of the body "
                     "under the configured secret",
                     "unauthorized");
    }
  } else if (!authorization_matches(secret->second, d.authorization)) {
    return problem(401, "unauthorized",
                   "the Authorization header does not carry the configured " + d.source +
                       " webhook secret",
                   "unauthorized");
  }
  return std::nullopt;
}

WebhookReply WebhookHandler::handle(const WebhookDelivery& d) {
  if (auto refusal = refuse_unauthenticated(d)) {
    return *refusal;
  }
  ParsedDelivery parsed;
  try {
    parsed = parse(d);
  } catch (const Error& e) {
    return problem(400, "invalid_payload", e.what(), "invalid");
  }
  Tally tally;
  tally.ignored = parsed.ignored;
  // Read once: the first push that would be queued gets the 503, before anything is queued.
  const auto low = parsed.pushes.empty()
                       ? std::nullopt
                       : server::check_free_space(config_.data_dir, config_.min_free_bytes);
  for (const PushEvent& push : parsed.pushes) {
    if (auto refusal = queue_push(d.source, push, low, tally)) {
      return *refusal;
    }
  }
  if (!tally.queued.empty()) {
    notify_();
  }
  WebhookReply reply;
  reply.status = tally.queued.empty() ? 200 : 202;
  reply.outcome =
      !tally.queued.empty() ? "queued" : (tally.duplicates > 0 ? "duplicate" : "ignored");
  reply.body = {{"source", d.source},
                {"queued", tally.queued},
                {"ignored", tally.ignored},
                {"duplicates", tally.duplicates}};
  return reply;
}

std::optional<WebhookReply> WebhookHandler::queue_push(const std::string& source,
                                                       const PushEvent& push,
                                                       const std::optional<std::string>& low,
                                                       Tally& tally) {
  const server::WebhookRule* rule =
      server::match_webhook_rule(config_.webhooks, push.repository, push.tag);
  const std::string host = rule && !rule->registry.empty()
                               ? rule->registry
                               : (push.host.empty() ? default_host(source) : push.host);
  if (!rule || host.empty() || is_referrers_tag(push.tag)) {
    ++tally.ignored;
    return std::nullopt;
  }
  const std::string what = "push of " + push.repository + ":" + push.tag;
  server::BuildRequest build;
  try {
    build = build_request_for(source, push, *rule, host, config_.push_targets);
  } catch (const Error& e) {
    return problem(400, "invalid_payload", what + ": " + e.what(), "invalid");
  }
  if (low) {
    return problem(503, "disk_full", what + ": no new builds: " + *low, "disk_full");
  }
  if (store_.count_queued() >= config_.max_queue) {
    return problem(429, "queue_full",
                   "the build queue is full (" + std::to_string(config_.max_queue) +
                       " queued); retry later",
                   "queue_full");
  }
  const std::string key = source + "|" + host + "/" + push.repository + "|" + push.tag + "|" +
                          (push.digest ? *push.digest : push.event_id);
  if (!dedupe_.claim(key)) {
    ++tally.duplicates;
    return std::nullopt;
  }
  try {
    const auto added =
        store_.enqueue({server::to_json(build), build.image, build.labels, {}, {}, {}});
    tally.queued.push_back({{"id", added.id},
                            {"image", build.image},
                            {"links", {{"self", "/v1/builds/" + added.id}}}});
  } catch (...) {
    dedupe_.release(key);
    throw;
  }
  return std::nullopt;
}

} // namespace oci2eif::api::webhooks
