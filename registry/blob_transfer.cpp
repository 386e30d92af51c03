#include "registry/blob_transfer.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace oci2eif::registry {

BlobTransfer::BlobTransfer(const Reference& ref, const RegistryOptions& options,
                           RegistryEndpoints& endpoints)
    : ref_(ref), opt_(options), endpoints_(endpoints),
      cache_(open_blob_cache({opt_.cache_dir, opt_.cache_max_bytes,
                              [this](const std::string& line) { endpoints_.log(line); },
                              opt_.interrupt, opt_.shared})) {
}

std::string BlobTransfer::subject(const std::string& digest) const {
  return "registry " + ref_.domain + ", repository " + ref_.repository + ", blob " + digest;
}

std::optional<BlobFetch> BlobTransfer::fetch_record(const std::string& digest) const {
  const std::lock_guard<std::mutex> lock(fetch_mutex_);
  const auto it = fetches_.find(digest);
  return it == fetches_.end() ? std::nullopt : std::optional<BlobFetch>(it->second);
}

void BlobTransfer::count(std::atomic<std::uint64_t> PullCounters::*counter, std::uint64_t n) const {
  if (opt_.counters != nullptr) {
    (opt_.counters->*counter) += n;
  }
}

std::filesystem::path BlobTransfer::cached_blob(const Descriptor& d, Clients* clients,
                                                const std::string& label) {
  validate_digest(d.digest, subject(d.digest));
  bool downloaded = false;
  std::uint64_t received = 0;
  const std::filesystem::path path =
      cache_->get(d.digest, d.size, subject(d.digest), [&](BlobDownload& download) {
        downloaded = true;
        count(&PullCounters::cache_misses, 1);
        endpoints_.log(label + " " + d.digest + ": downloading " + std::to_string(d.size) +
                       " bytes");
        endpoints_.with_fallback("blob " + d.digest, [&](std::size_t i) {
          if (download.received() > 0) {
            restart(d, download); // what a failed mirror sent
          }
          download_blob(i, clients, d, label, download, received);
          if (endpoints_[i].mirror) {
            endpoints_.log("blob " + d.digest + " from " + endpoints_[i].label);
          }
        });
      });
  record_fetch(d.digest, downloaded, received, path);
  return path;
}

std::filesystem::path BlobTransfer::blob_file(const Descriptor& d) {
  await_background(d.digest);
  {
    const std::lock_guard<std::mutex> lock(fetch_mutex_);
    const auto it = downloaded_.find(d.digest);
    std::error_code ec;
    if (it != downloaded_.end() && std::filesystem::is_regular_file(it->second, ec)) {
      return it->second; // (if another process evicted it meanwhile, it is fetched again)
    }
  }
  return cached_blob(d, nullptr, "blob");
}

// The first use of a blob by this pull decides hit or miss; later uses (the layer that
// fetch_layers() downloaded, opened to be applied) are not counted again.
void BlobTransfer::record_fetch(const std::string& digest, bool downloaded, std::uint64_t received,
                                const std::filesystem::path& path) {
  const std::lock_guard<std::mutex> lock(fetch_mutex_);
  const auto [it, first] = fetches_.try_emplace(digest);
  if (downloaded) {
    downloaded_[digest] = path;
    it->second.from_cache = false;
    it->second.downloaded += received;
  } else if (first) {
    it->second.from_cache = true;
    count(&PullCounters::cache_hits, 1);
  }
}

std::optional<BlobTransfer::Todo> BlobTransfer::plan_fetch(const std::vector<Descriptor>& layers) {
  Todo todo;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Descriptor& d = layers[i];
    total += d.size;
    const bool seen = std::any_of(todo.begin(), todo.end(),
                                  [&](const auto& t) { return t.first.digest == d.digest; });
    if (!seen && !cache_->contains(d.digest)) {
      todo.emplace_back(d, "layer " + std::to_string(i + 1) + "/" + std::to_string(layers.size()));
    }
  }
  if (total > opt_.cache_max_bytes) {
    endpoints_.log("the layers' " + std::to_string(total) + " bytes exceed the cache bound of " +
                   std::to_string(opt_.cache_max_bytes) +
                   " bytes; each is fetched as it is applied");
    return std::nullopt;
  }
  if (opt_.progress) { // every layer to fetch, so a display knows the whole
    for (const auto& [d, label] : todo) {
      opt_.progress({TransferProgress::Phase::Download, d.digest, label, 0, d.size});
    }
  }
  return todo;
}

std::size_t BlobTransfer::workers_for(std::size_t count) const {
  return std::min<std::size_t>(static_cast<std::size_t>(std::max(opt_.parallel_downloads, 1)),
                               count);
}

void BlobTransfer::fetch_layers(const std::vector<Descriptor>& layers) {
  const std::optional<Todo> todo = plan_fetch(layers);
  if (!todo || todo->empty()) {
    return;
  }
  const std::size_t workers = workers_for(todo->size());
  if (workers <= 1) {
    for (const auto& [d, label] : *todo) {
      cached_blob(d, nullptr, label);
    }
    return;
  }
  endpoints_.log("fetching " + std::to_string(todo->size()) + " layers, " +
                 std::to_string(workers) + " at a time");
  fetch_parallel(*todo, workers);
}

void BlobTransfer::start_fetching_layers(const std::vector<Descriptor>& layers) {
  std::optional<Todo> todo = plan_fetch(layers);
  if (!todo || todo->empty()) {
    return;
  }
  std::set<std::string> digests;
  for (const auto& [d, label] : *todo) {
    digests.insert(d.digest);
  }
  background_ = std::make_unique<Background>(std::move(digests));
  const std::size_t workers = workers_for(todo->size());
  endpoints_.log("fetching " + std::to_string(todo->size()) + " layers, " +
                 std::to_string(workers) + " at a time, while they are applied");
  background_->thread = std::thread([this, todo = std::move(*todo), workers] {
    ArrivingBlobs& blobs = background_->blobs;
    try {
      fetch_parallel(todo, workers, [&blobs](const std::string& digest, std::exception_ptr error) {
        blobs.ended(digest, error);
      });
    } catch (...) { // already recorded by the callback
    }
    blobs.end_the_rest(); // those the first error kept from starting
  });
}

std::unique_ptr<ByteSource> BlobTransfer::open_arriving(const Descriptor& d) {
  if (!background_ || !background_->blobs.fetches(d.digest)) {
    return nullptr;
  }
  return open_arriving_blob(
      background_->blobs, d, subject(d.digest), [this, d] { return blob_file(d); }, opt_.interrupt);
}

void BlobTransfer::await_background(const std::string& digest) {
  if (background_ && background_->blobs.fetches(digest)) {
    background_->blobs.await_end(digest); // (not: a layer found in the cache, or the config)
  }
}

void BlobTransfer::restart(const Descriptor& d, BlobDownload& download) const {
  if (background_) {
    background_->blobs.restarting(d.digest);
  }
  download.restart();
}

void BlobTransfer::stop_reading() {
  abandoned_ = true;
  if (background_) {
    background_->blobs.stop_readers();
  }
}

BlobTransfer::~BlobTransfer() {
  if (background_ && background_->thread.joinable()) {
    abandoned_ = true;
    background_->thread.join();
  }
}

void BlobTransfer::fetch_parallel(const Todo& todo, std::size_t workers, const Fetched& fetched) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      Clients clients;
      for (std::size_t i = next++; !stop && !abandoned_ && i < todo.size(); i = next++) {
        std::exception_ptr error;
        try {
          cached_blob(todo[i].first, &clients, todo[i].second);
        } catch (...) {
          error = std::current_exception();
          const std::lock_guard<std::mutex> lock(error_mutex);
          if (!first_error) {
            first_error = error;
          }
          stop = true;
        }
        if (fetched) {
          fetched(todo[i].first.digest, error);
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  if (first_error) {
    std::rethrow_exception(first_error);
  }
}

HttpRequest BlobTransfer::blob_request(const Endpoint& ep, const Descriptor& d,
                                       BlobDownload& download, const std::string& what) const {
  HttpRequest req;
  req.url = ep.base + "/v2/" + ref_.repository + "/blobs/" + d.digest;
  req.timeout_ms = opt_.blob_timeout_ms;
  req.interrupt = [this] {
    if (abandoned_) {
      throw Error(ErrorCode::Cancelled, "download abandoned: the build stopped");
    }
    if (opt_.interrupt) {
      opt_.interrupt();
    }
  };
  if (download.received() > 0) {
    req.range_start = download.received();
  }
  const bool ranged = req.range_start.has_value();
  req.on_head = [this, ranged, what, &d, &download](const HttpResponse& head) {
    if (ranged && head.status != 206) {
      endpoints_.log(what + ": the server ignored Range; downloading from the start");
      restart(d, download);
    }
  };
  return req;
}

void BlobTransfer::report_progress(const Descriptor& d, const std::string& label,
                                   const BlobDownload& download, std::uint64_t& reported) const {
  const std::uint64_t now = download.received();
  if (!opt_.progress ||
      (now < reported + kProgressEveryBytes && now != d.size && now >= reported)) {
    return;
  }
  reported = now;
  opt_.progress({TransferProgress::Phase::Download, d.digest, label, now, d.size});
}

void BlobTransfer::store_chunk(const Descriptor& d, ByteView chunk, BlobDownload& download) const {
  count(&PullCounters::bytes_pulled, chunk.size());
  download.append(chunk);
  if (background_) {
    background_->blobs.appended(d.digest, download.path(), download.received());
  }
}

void BlobTransfer::download_blob(std::size_t index, Clients* clients, const Descriptor& d,
                                 const std::string& label, BlobDownload& download,
                                 std::uint64_t& received) {
  Endpoint& ep = endpoints_[index];
  HttpClient& http = endpoints_.client(index, clients);
  const std::string what = ep.mirror ? ep.label + ", blob " + d.digest : subject(d.digest);
  std::string last_error;
  ErrorCode last_code = ErrorCode::Io;
  const int tries = endpoints_.attempts(ep);
  // Logs why attempt `n` failed and waits before the next, if there is one.
  const auto retry_after = [&](int n, const std::string& line) {
    endpoints_.log(what + ": " + line);
    if (n < tries) {
      endpoints_.pause(endpoints_.delay_ms(n, nullptr));
    }
  };
  std::uint64_t reported = 0;
  for (int n = 1; n <= tries; ++n) {
    HttpResponse resp;
    try {
      resp = endpoints_.exchange(ep, http, blob_request(ep, d, download, what), [&](ByteView c) {
        received += c.size();
        store_chunk(d, c, download);
        report_progress(d, label, download, reported);
      });
    } catch (const TransportError& e) {
      if (!e.retryable()) {
        throw Error(e.code(), what + ": " + e.what());
      }
      last_error = e.what();
      last_code = e.code();
      retry_after(n, last_error + " after " + std::to_string(download.received()) + " of " +
                         std::to_string(d.size) + " bytes; retrying");
      continue;
    }
    if (resp.status == 200 || resp.status == 206) {
      if (download.received() == d.size) {
        return;
      }
      last_error = "the connection ended after " + std::to_string(download.received()) + " of " +
                   std::to_string(d.size) + " bytes";
      last_code = ErrorCode::Io;
      retry_after(n, last_error + "; resuming");
      continue;
    }
    if (resp.status == 416) {
      restart(d, download);
      continue;
    }
    if (retryable_status(resp.status) && n < tries) {
      endpoints_.log(what + ": HTTP " + std::to_string(resp.status) + "; retrying");
      endpoints_.pause(endpoints_.delay_ms(n, &resp));
      continue;
    }
    endpoints_.status_error(ep, what, resp, n);
  }
  throw Error(last_code,
              what + ": " + last_error + " (gave up after " + std::to_string(tries) + " attempts)");
}

} // namespace oci2eif::registry
