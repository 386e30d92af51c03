#include "server/service_metrics.hpp"

#include "pipeline/version.hpp"
#include "server/disk_space.hpp"
#include "server/process_metrics.hpp"

#include <algorithm>

namespace oci2eif::server {

void declare_service_metrics(Metrics& m) {
  m.declare_gauge(kMetricBuilds, "Builds in the job store by state.");
  m.declare_gauge(kMetricQueueDepth, "Builds waiting for a worker.");
  m.declare_gauge(kMetricQueueOldestAge,
                  "Seconds the oldest queued build has waited (0 when none waits).");
  m.declare_gauge(kMetricReplicaInfo, "1, labelled with this replica's id.");
  m.declare_gauge(kMetricDependencyUp,
                  "1 when the dependency (database, object store) answers, else 0.");
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
  m.declare_gauge(kMetricBuildInfo, "1, labelled with the version of this oci2eif.");
  m.set(kMetricBuildInfo, {{"version", pipeline::kVersion}}, 1);
  m.declare_counter(kMetricHttpRequests, "HTTP requests answered, by route, method and status.");
  // Seconds: most answers take milliseconds; long polls and followed logs up to their timeout.
  m.declare_histogram(kMetricHttpDuration,
                      "Time from a request to the end of its answer, by route and method.",
                      {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600});
  declare_process_metrics(m);
}

void refresh_store_metrics(Metrics& m, JobStore& store, std::size_t workers_busy,
                           std::int64_t now_ms) {
  const auto counts = store.count_by_state();
  for (const BuildState s : {BuildState::Queued, BuildState::Running, BuildState::Succeeded,
                             BuildState::Failed, BuildState::Cancelled}) {
    const auto it = counts.find(s);
    m.set(kMetricBuilds, {{"state", std::string(build_state_name(s))}},
          it == counts.end() ? 0.0 : static_cast<double>(it->second));
  }
  const QueueStats queue = store.queue_stats();
  m.set(kMetricQueueDepth, {}, static_cast<double>(queue.depth));
  const std::int64_t waited = queue.oldest_queued_ms ? now_ms - *queue.oldest_queued_ms : 0;
  m.set(kMetricQueueOldestAge, {}, static_cast<double>(std::max<std::int64_t>(waited, 0)) / 1000);
  m.set(kMetricWorkersBusy, {}, static_cast<double>(workers_busy));
}

void refresh_replica_metrics(Metrics& m, const std::string& replica_id,
                             const std::map<std::string, bool>& dependencies) {
  m.set(kMetricReplicaInfo, {{"replica", replica_id}}, 1);
  for (const auto& [name, up] : dependencies) {
    m.set(kMetricDependencyUp, {{"dependency", name}}, up ? 1 : 0);
  }
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
