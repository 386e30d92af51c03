// What registry pulls did, counted for the daemon's /metrics (oci2eif_registry_bytes_pulled_total,
// oci2eif_blob_cache_{hits,misses}_total). A pull given a pointer to one
// (RegistryOptions::counters) adds to it from whichever thread does the work, while a download
// runs; readers load the values whenever they like.
//
// Each blob a pull needs counts once: a hit when a verified copy was already in the cache (also
// when another build had just fetched it), a miss when this pull downloaded it. A blob fetched
// again because its cached copy was corrupt or evicted is another miss.
#pragma once

#include <atomic>
#include <cstdint>

namespace oci2eif::registry {

struct PullCounters {
  // Blob body bytes received over the network, resumed parts and discarded attempts included
  // (what the registry was asked to send, not what the cache kept).
  std::atomic<std::uint64_t> bytes_pulled{0};
  std::atomic<std::uint64_t> cache_hits{0};
  std::atomic<std::uint64_t> cache_misses{0};
};

} // namespace oci2eif::registry
