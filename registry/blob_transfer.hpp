// Blob transfer for a registry pull: GET /v2/<repo>/blobs/<digest> streamed into the blob cache
// (which verifies size and digest before a blob becomes visible), through the mirrors with
// fallback to the origin, retried, resumed with Range after a dropped connection (from the
// start when the server ignores Range), and an image's layers fetched a few at a time
// (fetch_layers()). Records, per blob, whether this pull found it cached or downloaded it.
#pragma once

#include "registry/blob_cache.hpp"
#include "registry/image_source.hpp"
#include "registry/registry_endpoints.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace oci2eif::registry {

class BlobTransfer {
public:
  // `ref`, `options` and `endpoints` must outlive it. Opens the cache (options.cache_dir, or
  // default_blob_cache_dir()). Thread-safe: fetch_layers() calls blob_file's work from threads.
  BlobTransfer(const Reference& ref, const RegistryOptions& options, RegistryEndpoints& endpoints);
  // Stops downloads start_fetching_layers() left running (a build that failed early) and waits
  // for their threads.
  ~BlobTransfer();
  BlobTransfer(const BlobTransfer&) = delete;
  BlobTransfer& operator=(const BlobTransfer&) = delete;

  // The cached, verified file of blob `d`, downloaded if the cache lacks it. A blob this pull
  // downloaded (fetch_layers()) is not hashed again: it was verified as it entered the cache.
  std::filesystem::path blob_file(const Descriptor& d);
  // Fetches the layers not cached yet, `parallel_downloads` at a time, so that flattening (in
  // order, afterwards) reads them from the cache. The first error stops the others and is
  // thrown. Nothing is fetched ahead if the image would not fit in the cache. Cached layers are
  // left to be verified (and counted as hits) when they are opened.
  void fetch_layers(const std::vector<Descriptor>& layers);
  // As fetch_layers(), but returns once the first layer is local, the others still downloading
  // in the image's order: blob_file() of a layer waits for its download, so a build applies
  // layer 1 while the rest arrive. A download's error stops those not started, and is thrown by
  // blob_file() of any layer it left unfetched (and here, if it is the first layer's).
  void start_fetching_layers(const std::vector<Descriptor>& layers);
  // How this pull got blob `digest`, if it asked for it.
  std::optional<BlobFetch> fetch_record(const std::string& digest) const;
  // "registry R, repository P, blob D": the subject of errors about blob `digest`.
  std::string subject(const std::string& digest) const;

private:
  using Todo = std::vector<std::pair<Descriptor, std::string>>; // each with its name
  // Downloads start_fetching_layers() runs behind the build.
  struct Background {
    std::mutex mutex;
    std::condition_variable changed; // a blob left `pending`
    std::set<std::string> fetching;  // digests of the blobs it fetches (set once)
    std::set<std::string> pending;   // those not fetched yet, nor given up
    std::exception_ptr error;        // the first download error
    std::thread thread;
  };

  // The layers fetch_layers() should download, each with its label; nothing when they would not
  // fit in the cache (they are then fetched as they are applied).
  std::optional<Todo> plan_fetch(const std::vector<Descriptor>& layers);
  // Waits while start_fetching_layers() is still downloading `digest`; rethrows the error that
  // stopped it if it was not fetched.
  void await_background(const std::string& digest);

  // The cached file of blob `d`, downloaded (with `clients`, null: the constructing thread's)
  // if the cache lacks it; `label` names it ("layer 2/5", or "blob") in the log, before its
  // digest, and to the progress observer.
  std::filesystem::path cached_blob(const Descriptor& d, Clients* clients,
                                    const std::string& label);
  void record_fetch(const std::string& digest, bool downloaded, std::uint64_t received,
                    const std::filesystem::path& path);
  // Fetches `todo` with `workers` threads; the first error stops those not started and is
  // rethrown once all have stopped. `fetched` is told of each blob as it is fetched, or fails
  // (with its error).
  using Fetched = std::function<void(const std::string& digest, std::exception_ptr error)>;
  void fetch_parallel(const Todo& todo, std::size_t workers, const Fetched& fetched = {});
  // Threads for downloading `count` blobs: parallel_downloads, at most `count`.
  std::size_t workers_for(std::size_t count) const;
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
  std::atomic<bool> abandoned_{false}; // the destructor stops background downloads
  std::unique_ptr<Background> background_;
};

} // namespace oci2eif::registry
