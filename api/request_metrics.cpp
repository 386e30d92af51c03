#include "api/request_metrics.hpp"

#include "server/service_metrics.hpp"

#include <array>
#include <chrono>
#include <optional>
#include <string_view>

namespace oci2eif::api {
namespace {

thread_local std::optional<std::chrono::steady_clock::time_point> t_started;

std::string method_label(const std::string& method) {
  constexpr std::array<std::string_view, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view known : kKnown) {
    if (method == known) {
      return method;
    }
  }
  return "other";
}

} // namespace

void request_started() {
  t_started = std::chrono::steady_clock::now();
}

void record_request_metrics(httplib::Server& http, const RouteContext& routes) {
  http.set_logger([&routes](const httplib::Request& req, const httplib::Response& res) {
    server::Metrics& metrics = routes.ctx.metrics;
    const server::MetricLabels labels = {{"route", routes.route_of(req.path)},
                                         {"method", method_label(req.method)}};
    server::MetricLabels counted = labels;
    counted["code"] = std::to_string(res.status);
    metrics.add(server::kMetricHttpRequests, counted);
    if (t_started) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - *t_started;
      metrics.observe(server::kMetricHttpDuration, labels, took.count());
      t_started.reset();
    }
  });
}

} // namespace oci2eif::api
