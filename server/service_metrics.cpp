#include "server/service_metrics.hpp"

namespace oci2eif::server {

void declare_service_metrics(Metrics& m) {
  m.declare_gauge(kMetricBuilds, "Builds in the job store by state.");
  m.declare_gauge(kMetricQueueDepth, "Builds waiting for a worker.");
  m.declare_gauge(kMetricWorkersBusy, "Builds running in this process.");
  // Seconds: small images build in about a second, large ones in minutes; the timeout is 1 h.
  m.declare_histogram(kMetricBuildDuration,
                      "Wall time of a build attempt, from claim to finish, by final state.",
                      {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600});
  m.declare_counter(kMetricWebhookDeliveries, "Registry webhook deliveries by source and outcome.");
}

void refresh_store_metrics(Metrics& m, JobStore& store, std::size_t workers_busy) {
  const auto counts = store.count_by_state();
  for (const BuildState s : {BuildState::Queued, BuildState::Running, BuildState::Succeeded,
                             BuildState::Failed, BuildState::Cancelled}) {
    const auto it = counts.find(s);
    m.set(kMetricBuilds, {{"state", std::string(build_state_name(s))}},
          it == counts.end() ? 0.0 : static_cast<double>(it->second));
  }
  const auto queued = counts.find(BuildState::Queued);
  m.set(kMetricQueueDepth, {}, queued == counts.end() ? 0.0 : static_cast<double>(queued->second));
  m.set(kMetricWorkersBusy, {}, static_cast<double>(workers_busy));
}

} // namespace oci2eif::server
