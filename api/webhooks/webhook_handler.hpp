// POST /v1/webhooks/{source}: authenticate the delivery, turn it into pushes (the source's
// adapter), map each push through the configured rules to a build request, drop duplicates
// (WebhookDedupe) and enqueue. Only enqueues: the registry never waits for a build.
// Independent of the HTTP library so it can be tested directly.
#pragma once

#include "api/problem.hpp"
#include "api/webhooks/push_event.hpp"
#include "server/config.hpp"
#include "server/job_store.hpp"
#include "server/webhook_dedupe.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace oci2eif::api::webhooks {

struct WebhookDelivery {
  std::string source;        // distribution, harbor, dockerhub, github
  std::string authorization; // Authorization header, "" if absent
  std::string signature;     // X-Hub-Signature-256, "" if absent
  std::string github_event;  // X-GitHub-Event, "" if absent
  std::string body;          // raw
};

struct WebhookReply {
  std::optional<Problem> problem; // set: answer this problem instead of body
  int status = 200;               // 202 when a build was queued, else 200
  nlohmann::json body;            // {"queued": [{id, image, links}], "ignored": n, "duplicates": n}
  std::string outcome; // for metrics: queued, ignored, duplicate, disabled, unauthorized,
                       // invalid, queue_full, disk_full
};

class WebhookHandler {
public:
  WebhookHandler(const server::ServeConfig& config, server::JobStore& store,
                 server::WebhookDedupe& dedupe, std::function<void()> notify);

  WebhookReply handle(const WebhookDelivery& delivery);

private:
  // What one delivery did so far, for the reply.
  struct Tally {
    nlohmann::json queued = nlohmann::json::array();
    std::size_t ignored = 0;
    std::size_t duplicates = 0;
  };
  // The reply refusing a disabled source or a wrong secret/signature; nullopt when accepted.
  std::optional<WebhookReply> refuse_unauthenticated(const WebhookDelivery& delivery) const;
  // Queues the build a rule makes of `push` (or counts it ignored or duplicate); a reply when
  // the whole delivery must be refused (invalid template result, disk low, queue full).
  std::optional<WebhookReply> queue_push(const std::string& source, const PushEvent& push,
                                         const std::optional<std::string>& low, Tally& tally);

  const server::ServeConfig& config_;
  server::JobStore& store_;
  server::WebhookDedupe& dedupe_;
  std::function<void()> notify_;
};

} // namespace oci2eif::api::webhooks
