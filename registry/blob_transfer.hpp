// Blob transfer for a registry pull: GET /v2/<repo>/blobs/<digest> streamed into the blob cache
// (which verifies size and digest before a blob becomes visible), through the mirrors with
// fallback to the origin, retried, resumed with Range after a dropped connection (from the
// start when the server ignores Range), and an image's layers fetched a few at a time
// (fetch_layers()). Records, per blob, whether this pull found it cached or downloaded it.
#pragma once

#include "registry/arriving_blobs.hpp"
#include "registry/blob_cache.hpp"
#include "registry/image_source.hpp"
#include "registry/registry_endpoints.hpp"

#include <atomic>
#include <cstdint>
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
  // As fetch_layers(), but returns at once, the layers downloading behind the build in the
  // image's order: open_arriving() reads one while it arrives, and blob_file() of one waits for
  // its download. A download's error stops those not started, and is thrown by what reads a
  // layer it left unfetched.
  void start_fetching_layers(const std::vector<Descriptor>& layers);
  // Blob `d` read while start_fetching_layers() downloads it (verified as it is read, see
  // open_arriving_blob()); null if it is not one of those.
  std::unique_ptr<ByteSource> open_arriving(const Descriptor& d);
  // ImageSource::stop_reading(): readers of arriving blobs throw Cancelled instead of waiting,
  // and the downloads behind the build stop.
  void stop_reading();
  // How this pull got blob `digest`, if it asked for it.
  std::optional<BlobFetch> fetch_record(const std::string& digest) const;
  // "registry R, repository P, blob D": the subject of errors about blob `digest`.
  std::string subject(const std::string& digest) const;

private:
  using Todo = std::vector<std::pair<Descriptor, std::string>>; // each with its name
  // Downloads start_fetching_layers() runs behind the build.
  struct Background {
    explicit Background(std::set<std::string> digests) : blobs(std::move(digests)) {}
    ArrivingBlobs blobs;
    std::thread thread;
  };

  // The layers fetch_layers() should download, each with its label; nothing when they would not
  // fit in the cache (they are then fetched as they are applied).
  std::optional<Todo> plan_fetch(const std::vector<Descriptor>& layers);
  // Waits while start_fetching_layers() is still downloading `digest`; rethrows the error that
  // stopped it if it was not fetched.
  void await_background(const std::string& digest);
  // Starts `download` of `d` over, telling readers of the arriving blob first.
  void restart(const Descriptor& d, BlobDownload& download) const;

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
  // Appends `chunk` of blob `d` to `download`, counted, and tells the readers of an arriving
  // blob.
  void store_chunk(const Descriptor& d, ByteView chunk, BlobDownload& download) const;
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
