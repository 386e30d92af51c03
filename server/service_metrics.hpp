// The metrics `oci2eif serve` exposes at GET /metrics (names are a stable interface):
//   oci2eif_builds{state}                           gauge, from the job store at scrape time
//   oci2eif_queue_depth                             gauge, queued builds (as the job store,
//                                                   shared by all replicas, sees them)
//   oci2eif_queue_oldest_age_seconds                gauge, how long the oldest queued build has
//                                                   waited (0 for an empty queue)
//   oci2eif_replica_info{replica}                   gauge, 1: this replica's id
//   oci2eif_dependency_up{dependency}               gauge, 1/0: the database and object store
//                                                   answer (scale-out only)
//   oci2eif_workers_busy                            gauge, builds running in this process
//   oci2eif_data_dir_available_bytes                gauge, free space for the data directory
//   oci2eif_build_duration_seconds{state}           histogram, one sample per finished attempt
//   oci2eif_webhook_deliveries_total{source,outcome} counter; outcome: queued, ignored,
//                                                   duplicate, unauthorized, invalid, error
//   oci2eif_registry_bytes_pulled_total             counter, blob body bytes received from
//                                                   registries (resumed parts included)
//   oci2eif_blob_cache_hits_total                   counter, blobs a build needed that the cache
//                                                   held (no download)
//   oci2eif_blob_cache_misses_total                 counter, blobs downloaded into the cache
//   oci2eif_build_info{version}                     gauge, 1: this binary's version
//   oci2eif_http_requests_total{route,method,code}  counter, HTTP requests answered; route is
//                                                   the OpenAPI path (/v1/builds/{id}) or
//                                                   "other", method one of the HTTP methods or
//                                                   "other" (a client cannot add series)
//   oci2eif_http_request_duration_seconds{route,method} histogram, from the request line to
//                                                   the last byte sent (long polls and followed
//                                                   logs included)
//   process_*                                       the Prometheus client libraries' process
//                                                   metrics (process_metrics.hpp)
// The registry counters cover every pull of this process (registry/pull_counters.hpp): the
// builds, and the image configs POST /v1/builds reads to resolve a request before queueing it.
#pragma once

#include "registry/pull_counters.hpp"
#include "server/job_store.hpp"
#include "server/metrics.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace oci2eif::server {

inline constexpr const char* kMetricBuilds = "oci2eif_builds";
inline constexpr const char* kMetricQueueDepth = "oci2eif_queue_depth";
inline constexpr const char* kMetricQueueOldestAge = "oci2eif_queue_oldest_age_seconds";
inline constexpr const char* kMetricReplicaInfo = "oci2eif_replica_info";
inline constexpr const char* kMetricDependencyUp = "oci2eif_dependency_up";
inline constexpr const char* kMetricWorkersBusy = "oci2eif_workers_busy";
inline constexpr const char* kMetricDataDirFree = "oci2eif_data_dir_available_bytes";
inline constexpr const char* kMetricBuildDuration = "oci2eif_build_duration_seconds";
inline constexpr const char* kMetricWebhookDeliveries = "oci2eif_webhook_deliveries_total";
inline constexpr const char* kMetricRegistryBytesPulled = "oci2eif_registry_bytes_pulled_total";
inline constexpr const char* kMetricBlobCacheHits = "oci2eif_blob_cache_hits_total";
inline constexpr const char* kMetricBlobCacheMisses = "oci2eif_blob_cache_misses_total";
inline constexpr const char* kMetricBuildInfo = "oci2eif_build_info";
inline constexpr const char* kMetricHttpRequests = "oci2eif_http_requests_total";
inline constexpr const char* kMetricHttpDuration = "oci2eif_http_request_duration_seconds";

void declare_service_metrics(Metrics& metrics);

// Sets the store-derived gauges (every state, 0 included; the queue's depth and oldest age at
// `now_ms`) just before a scrape.
void refresh_store_metrics(Metrics& metrics, JobStore& store, std::size_t workers_busy,
                           std::int64_t now_ms);

// The replica's id, and each dependency's state (name → up), just before a scrape.
void refresh_replica_metrics(Metrics& metrics, const std::string& replica_id,
                             const std::map<std::string, bool>& dependencies);

// Sets the data directory's free space just before a scrape.
void refresh_disk_metrics(Metrics& metrics, const std::filesystem::path& data_dir);

// Copies the registry counters into their metrics just before a scrape.
void refresh_registry_metrics(Metrics& metrics, const registry::PullCounters& counters);

} // namespace oci2eif::server
