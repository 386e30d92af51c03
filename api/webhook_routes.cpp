// POST /v1/webhooks/{source}: registry push events turned into builds by webhooks/. These
// authenticate with per-source secrets (webhooks/signature.hpp), not API tokens.
#include "api/routes.hpp"
#include "api/webhooks/webhook_handler.hpp"
#include "core/error.hpp"
#include "server/service_metrics.hpp"

#include <httplib.h>
#include <memory>

namespace oci2eif::api {
namespace {

// Throws InvalidInput for a rule whose build names a kernel the server does not have: caught
// at start-up rather than on every delivery.
void check_rule_kernels(const ApiContext& ctx) {
  const auto& rules = ctx.config.webhooks.rules;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto j = nlohmann::json::parse(rules[i].build_json);
    if (j.contains("kernel") && !ctx.kernels.resolve(j["kernel"].get<std::string>())) {
      throw Error(ErrorCode::InvalidInput,
                  "configuration: webhooks.rules[" + std::to_string(i) + "].build.kernel: '" +
                      j["kernel"].get<std::string>() + "' is not a configured kernel");
    }
  }
}

class WebhookRoute {
public:
  explicit WebhookRoute(RouteContext& routes)
      : routes_(routes), ctx_(routes.ctx),
        handler_(ctx_.config, ctx_.store, ctx_.webhook_dedupe, [this] { ctx_.pool.notify(); }) {}

  // Counts every delivery by source and outcome (the metric), errors included.
  void deliver(const httplib::Request& req, httplib::Response& res) {
    const std::string source = req.matches[1];
    if (req.body.size() > ctx_.config.max_body_bytes) {
      send_problem(res, too_large());
      return;
    }
    if (routes_.refuse_if_draining(res)) {
      count(source, "error");
      return;
    }
    webhooks::WebhookReply reply;
    try {
      reply = handler_.handle({source, req.get_header_value("Authorization"),
                               req.get_header_value("X-Hub-Signature-256"),
                               req.get_header_value("X-GitHub-Event"), req.body});
    } catch (...) {
      reply.problem = problem_for(current_error());
      reply.outcome = "error";
    }
    count(source, reply.outcome);
    if (reply.problem) {
      send_problem(res, *reply.problem);
      return;
    }
    send_json(res, reply.status, reply.body);
  }

private:
  void count(const std::string& source, const std::string& outcome) {
    ctx_.metrics.add(server::kMetricWebhookDeliveries, {{"source", source}, {"outcome", outcome}});
  }

  const RouteContext& routes_;
  const ApiContext& ctx_;
  webhooks::WebhookHandler handler_;
};

} // namespace

void add_webhook_routes(RouteContext& routes) {
  check_rule_kernels(routes.ctx);
  auto route = std::make_shared<WebhookRoute>(routes);
  routes.add(
      "POST", "/v1/webhooks/{source}", "/v1/webhooks/(distribution|harbor|dockerhub|github)",
      [route](const httplib::Request& req, httplib::Response& res) { route->deliver(req, res); });
}

} // namespace oci2eif::api
