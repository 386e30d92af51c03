#include "api/webhooks/webhook_handler.hpp"

#include "api/webhooks/push_event.hpp"
#include "api/webhooks/signature.hpp"
#include "core/error.hpp"
#include "server/build_request.hpp"
#include "server/disk_space.hpp"

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

WebhookReply WebhookHandler::handle(const WebhookDelivery& d) {
  const auto secret = config_.webhooks.secrets.find(d.source);
  if (secret == config_.webhooks.secrets.end()) {
    return problem(404, "webhook_disabled",
                   "the " + d.source +
                       " webhook is not enabled on this server (configure "
                       "webhooks.secrets." +
                       d.source + ")",
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
  ParsedDelivery parsed;
  try {
    parsed = parse(d);
  } catch (const Error& e) {
    return problem(400, "invalid_payload", e.what(), "invalid");
  }

  WebhookReply reply;
  nlohmann::json queued = nlohmann::json::array();
  std::size_t ignored = parsed.ignored, duplicates = 0;
  // Read once: the first push that would be queued gets the 503, before anything is queued.
  const auto low = parsed.pushes.empty()
                       ? std::nullopt
                       : server::check_free_space(config_.data_dir, config_.min_free_bytes);
  for (const PushEvent& push : parsed.pushes) {
    const server::WebhookRule* rule =
        server::match_webhook_rule(config_.webhooks, push.repository, push.tag);
    const std::string host = rule && !rule->registry.empty()
                                 ? rule->registry
                                 : (push.host.empty() ? default_host(d.source) : push.host);
    if (!rule || host.empty()) {
      ++ignored;
      continue;
    }
    const std::string image =
        host + "/" + push.repository + (push.digest ? "@" + *push.digest : ":" + push.tag);
    const std::string key = d.source + "|" + host + "/" + push.repository + "|" + push.tag + "|" +
                            (push.digest ? *push.digest : push.event_id);
    nlohmann::json request = nlohmann::json::parse(rule->build_json);
    request["image"] = image;
    request["labels"]["webhook.source"] = d.source;
    request["labels"]["webhook.tag"] = push.tag;
    server::BuildRequest build;
    try {
      build = server::parse_build_request(request.dump());
    } catch (const Error& e) {
      return problem(400, "invalid_payload",
                     "push of " + push.repository + ":" + push.tag + ": " + e.what(), "invalid");
    }
    if (low) {
      return problem(503, "disk_full",
                     "push of " + push.repository + ":" + push.tag + ": no new builds: " + *low,
                     "disk_full");
    }
    if (store_.count_queued() >= config_.max_queue) {
      WebhookReply full = problem(429, "queue_full",
                                  "the build queue is full (" + std::to_string(config_.max_queue) +
                                      " queued); retry later",
                                  "queue_full");
      return full;
    }
    if (!dedupe_.claim(key)) {
      ++duplicates;
      continue;
    }
    try {
      const auto added =
          store_.enqueue({server::to_json(build), build.image, build.labels, {}, {}, {}});
      queued.push_back({{"id", added.id},
                        {"image", build.image},
                        {"links", {{"self", "/v1/builds/" + added.id}}}});
    } catch (...) {
      dedupe_.release(key);
      throw;
    }
  }
  if (!queued.empty()) {
    notify_();
  }
  reply.status = queued.empty() ? 200 : 202;
  reply.outcome = !queued.empty() ? "queued" : (duplicates > 0 ? "duplicate" : "ignored");
  reply.body = {
      {"source", d.source}, {"queued", queued}, {"ignored", ignored}, {"duplicates", duplicates}};
  return reply;
}

} // namespace oci2eif::api::webhooks
