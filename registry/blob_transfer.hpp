// Blob transfer for a registry pull: GET /v2/<repo>/blobs/<digest> streamed into the blob cache
// (which verifies size and digest before a blob becomes visible), through the mirrors with
// fallback to the origin, retried, resumed with Range after a dropped connection (from the
// start when the server ignores Range), and an image's layers fetched a few at a time
// (fetch_layers()). Records, per blob, whether this pull found it cached or downloaded it.
#pragma once

#include "registry/blob_cache.hpp"
#include "registry/image_source.hpp"
#include "registry/registry_endpoints.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::registry {

class BlobTransfer {
public:
  // `ref`, `options` and `endpoints` must outlive it. Opens the cache (options.cache_dir, or
  // default_blob_cache_dir()). Thread-safe: fetch_layers() calls blob_file's work from threads.
  BlobTransfer(const Reference& ref, const RegistryOptions& options, RegistryEndpoints& endpoints);

  // The cached, verified file of blob `d`, downloaded if the cache lacks it. A blob this pull
  // downloaded (fetch_layers()) is not hashed again: it was verified as it entered the cache.
  std::filesystem::path blob_file(const Descriptor& d);
  // Fetches the layers not cached yet, `parallel_downloads` at a time, so that flattening (in
  // order, afterwards) reads them from the cache. The first error stops the others and is
  // thrown. Nothing is fetched ahead if the image would not fit in the cache. Cached layers are
  // left to be verified (and counted as hits) when they are opened.
  void fetch_layers(const std::vector<Descriptor>& layers);
  // How this pull got blob `digest`, if it asked for it.
  std::optional<BlobFetch> fetch_record(const std::string& digest) const;
  // "registry R, repository P, blob D": the subject of errors about blob `digest`.
  std::string subject(const std::string& digest) const;

private:
  using Todo = std::vector<std::pair<Descriptor, std::string>>; // each with its name

  // The cached file of blob `d`, downloaded (with `clients`, null: the constructing thread's)
  // if the cache lacks it; `label` names it ("layer 2/5", or "blob") in the log, before its
  // digest, and to the progress observer.
  std::filesystem::path cached_blob(const Descriptor& d, Clients* clients,
                                    const std::string& label);
  void record_fetch(const std::string& digest, bool downloaded, std::uint64_t received,
                    const std::filesystem::path& path);
  // Fetches `todo` with `workers` threads; rethrows the first error once all have stopped.
  void fetch_parallel(const Todo& todo, std::size_t workers);
  // Downloads blob `d` from endpoint `index` into `download`, resuming after a dropped
  // connection; adds the bytes received to `received` and the counters.
  // `label` names it to the progress observer.
  void download_blob(std::size_t index, Clients* clients, const Descriptor& d,
                     const std::string& label, BlobDownload& download, std::uint64_t& received);
  // Tells the progress observer how far `download` of `d` is, when it moved by
  // kProgressEveryBytes since `reported` (or reached the end, or started over).
  void report_progress(const Descriptor& d, const std::string& label, const BlobDownload& download,
                       std::uint64_t& reported) const;
  // The request for the rest of blob `d` at `ep`: a Range from what `download` holds.
  HttpRequest blob_request(const Endpoint& ep, const Descriptor& d, BlobDownload& download,
                           const std::string& what) const;
  void count(std::atomic<std::uint64_t> PullCounters::*counter, std::uint64_t n) const;

  const Reference& ref_;
  const RegistryOptions& opt_;
  RegistryEndpoints& endpoints_;
  std::unique_ptr<BlobCache> cache_;
  mutable std::mutex fetch_mutex_;
  std::map<std::string, BlobFetch> fetches_; // by digest: how this pull got each blob
  std::map<std::string, std::filesystem::path> downloaded_; // by digest: what this pull verified
};

} // namespace oci2eif::registry
