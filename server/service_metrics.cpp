#include "server/service_metrics.hpp"

#include "server/disk_space.hpp"

namespace oci2eif::server {

void declare_service_metrics(Metrics& m) {
  m.declare_gauge(kMetricBuilds, "Builds in the job store by state.");
  m.declare_gauge(kMetricQueueDepth, "Builds waiting for a worker.");
  m.declare_gauge(kMetricWorkersBusy, "Builds running in this process.");
  m.declare_gauge(kMetricDataDirFree,
                  "Bytes still free for the data directory (below min_free_mb: no new builds).");
  // Seconds: small images build in about a second, large ones in minutes; the timeout is 1 h.
  m.declare_histogram(kMetricBuildDuration,
                      "Wall time of a build attempt, from claim to finish, by final state.",
                      {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600});
  m.declare_counter(kMetricWebhookDeliveries, "Registry webhook deliveries by source and outcome.");
  m.declare_counter(kMetricRegistryBytesPulled,
                    "Blob body bytes received from registries, resumed parts included.");
  m.declare_counter(kMetricBlobCacheHits, "Blobs builds needed that the blob cache already held.");
  m.declare_counter(kMetricBlobCacheMisses, "Blobs downloaded into the blob cache.");
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

void refresh_disk_metrics(Metrics& m, const std::filesystem::path& data_dir) {
  m.set(kMetricDataDirFree, {}, static_cast<double>(available_bytes(data_dir)));
}

void refresh_registry_metrics(Metrics& m, const registry::PullCounters& counters) {
  m.raise_to(kMetricRegistryBytesPulled, {}, static_cast<double>(counters.bytes_pulled.load()));
  m.raise_to(kMetricBlobCacheHits, {}, static_cast<double>(counters.cache_hits.load()));
  m.raise_to(kMetricBlobCacheMisses, {}, static_cast<double>(counters.cache_misses.load()));
}

} // namespace oci2eif::server
