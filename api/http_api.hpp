// The HTTP API of `oci2eif serve` (/v1/builds, /healthz, /readyz) over cpp-httplib, whose
// header stays in the .cpp files; the routes live by resource in *_routes.cpp. Routes:
//   POST /v1/builds                          build   → 202 {id, state, links}; 503 draining
//   GET  /v1/builds?state=&image=&label=K=V&limit=&cursor=   read
//   GET  /v1/builds/{id}                     read
//   GET  /v1/builds/{id}/log                 read    text/plain; ?follow=1 streams to the end
//   GET  /v1/builds/{id}/artifacts/{name}    read    (Range supported)
//   POST /v1/builds/{id}/cancel              build
//   DELETE /v1/builds/{id}                   build   204; 409 unless finished (row + files go)
//   GET  /v1/kernels, /v1/kernels/{name}     read
//   POST /v1/kernels                         admin   multipart → 201; 409 if the name exists
//   DELETE /v1/kernels/{name}                admin   204; 409 for the default or a configured one
//   POST /v1/webhooks/{distribution|harbor|dockerhub|github}   per-source secret (webhooks/)
//   GET  /healthz, /readyz, /metrics         open (Prometheus text 0.0.4)
// The contract is api/openapi.json; route_table() lets a test keep the two in sync.
#pragma once

#include "server/artifact_store.hpp"
#include "server/build_log_store.hpp"
#include "server/build_runner.hpp"
#include "server/config.hpp"
#include "server/dependency_monitor.hpp"
#include "server/job_store.hpp"
#include "server/kernel_catalog.hpp"
#include "server/metrics.hpp"
#include "server/signing_keys.hpp"
#include "server/webhook_dedupe.hpp"
#include "server/worker_pool.hpp"

#include <memory>
#include <string>
#include <vector>

namespace oci2eif::api {

struct ApiContext {
  const server::ServeConfig& config;
  server::JobStore& store;
  server::ArtifactStore& artifacts;
  server::BuildRunner& runner;
  server::KernelCatalog& kernels;
  const server::SigningKeys& signing_keys;
  server::WorkerPool& pool;
  server::Metrics& metrics;              // declared with declare_service_metrics()
  server::BuildLogStore& logs;           // GET /log reads (and follows) it, DELETE removes it
  server::WebhookDedupe& webhook_dedupe; // shared by every replica that shares its database
  // The database's and object store's last answers: readiness, POST and /metrics read them.
  const server::DependencyMonitor& dependencies;
};

struct ApiRoute {
  std::string method; // GET, POST, DELETE
  std::string path;   // OpenAPI syntax: /v1/builds/{id}
};

class HttpApi {
public:
  explicit HttpApi(ApiContext context);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds config.listen_host:listen_port, or a free port when it is 0 (throws Io if it cannot);
  // returns the port. run() calls it unless it was called.
  int bind();
  // Serves until stop().
  void run();
  void stop();
  // Graceful shutdown has begun: POST /v1/builds and webhooks answer 503 (shutting_down) and
  // /readyz 503; reads go on being served until stop().
  void drain();
  // Every route registered, in registration order.
  const std::vector<ApiRoute>& route_table() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace oci2eif::api
