// The open probes: liveness, readiness, Prometheus metrics and the OpenAPI document.
#include "api/openapi.hpp"
#include "api/routes.hpp"
#include "core/error.hpp"
#include "server/disk_space.hpp"
#include "server/process_metrics.hpp"
#include "server/service_metrics.hpp"

#include <cstdint>
#include <fstream>
#include <httplib.h>
#include <memory>

namespace oci2eif::api {
namespace {

class Readiness {
public:
  explicit Readiness(const RouteContext& routes) : routes_(routes) {}

  // 200 when the service takes builds: not draining, the database (and in scale-out mode the
  // object store, as the dependency monitor last saw them) answers, a kernel is in the catalog,
  // the data directory has its free-space floor and can be written; else 503 naming why.
  void answer(httplib::Response& res) {
    const ApiContext& ctx = routes_.ctx;
    if (routes_.draining()) {
      send_problem(res, {503, "shutting_down", "the service is shutting down"});
      return;
    }
    if (auto down = ctx.dependencies.problem()) {
      send_problem(res, {503, "dependency_unavailable", *down});
      return;
    }
    try {
      ctx.store.count_queued(); // between two of the monitor's checks, the database can go
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Unavailable) {
        throw;
      }
      send_problem(res, {503, "dependency_unavailable", std::string("database: ") + e.what()});
      return;
    }
    if (ctx.kernels.list().empty()) { // every POST would fail: not ready to build
      send_problem(res, {503, "no_kernel",
                         "no kernel is configured: start the service with --kernel-dir NAME=DIR "
                         "(or nitro-cli's blobs), or upload one (POST /v1/kernels, role admin)"});
      return;
    }
    if (auto low = server::check_free_space(ctx.config.data_dir, ctx.config.min_free_bytes)) {
      send_problem(res, {503, "disk_full", *low});
      return;
    }
    // One file per probe: concurrent probes must not remove each other's.
    const auto probe = ctx.config.data_dir / (".readyz-" + std::to_string(++probes_));
    std::ofstream out(probe);
    out << "ok";
    out.close();
    const bool written = !out.fail() && std::filesystem::exists(probe);
    std::filesystem::remove(probe);
    if (!written) {
      send_problem(res, {503, "not_ready",
                         "data directory " + ctx.config.data_dir.string() + " is not writable"});
      return;
    }
    send_json(res, 200, {{"status", "ready"}});
  }

private:
  const RouteContext& routes_;
  std::atomic<std::uint64_t> probes_{0}; // names the probe files
};

// GET /metrics: every gauge refreshed, then the exposition text.
void serve_metrics(const ApiContext& ctx, httplib::Response& res) {
  try {
    server::refresh_replica_metrics(ctx.metrics, ctx.config.replica_id, ctx.dependencies.states());
    try {
      server::refresh_store_metrics(ctx.metrics, ctx.store, ctx.pool.running(),
                                    server::system_clock()());
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Unavailable) {
        throw;
      } // the database is down: its gauges keep their last values, and
        // oci2eif_dependency_up says why
    }
    server::refresh_registry_metrics(ctx.metrics, ctx.runner.pull_counters());
    server::refresh_disk_metrics(ctx.metrics, ctx.config.data_dir);
    server::refresh_process_metrics(ctx.metrics);
    res.set_content(ctx.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  } catch (const std::exception& e) {
    send_problem(res, {503, "metrics_unavailable", e.what()});
  }
}

} // namespace

void add_probe_routes(RouteContext& routes) {
  routes.add("GET", "/healthz", "/healthz", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });
  auto readiness = std::make_shared<Readiness>(routes);
  routes.add("GET", "/readyz", "/readyz",
             [readiness](const httplib::Request&, httplib::Response& res) {
               try {
                 readiness->answer(res);
               } catch (const std::exception& e) {
                 send_problem(res, {503, "not_ready", e.what()});
               }
             });
  RouteHandler metrics = [&routes](const httplib::Request&, httplib::Response& res) {
    serve_metrics(routes.ctx, res);
  };
  // Behind a token on request: the metrics name replicas, images' registries by volume, ...
  routes.add("GET", "/metrics", "/metrics",
             routes.ctx.config.metrics_require_token
                 ? routes.guarded(server::Role::Read, std::move(metrics))
                 : std::move(metrics));
  routes.add("GET", "/v1/openapi.json", "/v1/openapi.json",
             [](const httplib::Request&, httplib::Response& res) {
               res.set_content(std::string(openapi_document()), "application/json");
             });
}

} // namespace oci2eif::api
