// The registry client against a small registry served from memory on 127.0.0.1: what a pull
// counts (bytes received, cache hits and misses, per-blob origin), and that an interrupt stops a
// download part-way, leaving no partial blob in the cache and closing the connection.
#include "core/content_spool.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/layer_flattener.hpp"
#include "pipeline/layer_application.hpp"
#include "registry/registry_source.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <httplib.h>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

using namespace oci2eif;
using namespace oci2eif::registry;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kFirstChunk = 16 << 10; // what a held blob sends before it trickles
constexpr int kTrickleSteps = 2000;           // a held blob's bound: 2000 × 10 ms

// How the fake registry answers a blob GET.
enum class BlobMode {
  Whole,   // the blob at once (Range requests answered 206 with the rest)
  CutOnce, // the first GET sends kFirstChunk bytes and drops the connection; then Whole
  Held,    // kFirstChunk bytes, then a byte every 10 ms until the client goes away
  Missing, // 404
  Gated,   // half the blob, then the rest once open_gate() is called (or after 20 s)
};

std::string pseudo_random(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    seed = seed * 1103515245u + 12345u;
    s[i] = static_cast<char>(seed >> 16);
  }
  return s;
}

// An image of one config and `layers` layers (random bytes: never flattened here) served by an
// httplib server on a reserved 127.0.0.1 port (test::reserved_port), stopped by the destructor.
class FakeRegistry {
public:
  explicit FakeRegistry(std::size_t layers, std::size_t layer_size = 64 << 10) {
    nlohmann::json diff_ids = nlohmann::json::array(), layer_list = nlohmann::json::array();
    for (std::size_t i = 0; i < layers; ++i) {
      const std::string data = pseudo_random(layer_size, static_cast<unsigned>(i + 1));
      const std::string digest = add_blob(data);
      layer_digests.push_back(digest);
      diff_ids.push_back(digest);
      layer_list.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                            {"digest", digest},
                            {"size", data.size()}});
    }
    const std::string config =
        nlohmann::json{{"architecture", "amd64"},
                       {"os", "linux"},
                       {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
            .dump();
    config_digest = add_blob(config);
    manifest_ = nlohmann::json{{"schemaVersion", 2},
                               {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                               {"config",
                                {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                 {"digest", config_digest},
                                 {"size", config.size()}}},
                               {"layers", layer_list}}
                    .dump();
    routes();
    port_ = test::reserved_port();
    REQUIRE(server_.bind_to_port("127.0.0.1", port_));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeRegistry() {
    server_.stop();
    thread_.join();
  }
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  Reference reference() const {
    return Reference::parse("127.0.0.1:" + std::to_string(port_) + "/test/img:v1");
  }
  std::uint64_t size_of(const std::string& digest) const { return blobs_.at(digest).size(); }
  const std::string& data_of(const std::string& digest) const { return blobs_.at(digest); }
  void set_mode(const std::string& digest, BlobMode mode) {
    const std::lock_guard<std::mutex> lock(mutex_);
    modes_[digest] = mode;
  }

  std::vector<std::string> layer_digests;
  std::string config_digest;
  std::atomic<int> range_requests{0};
  std::atomic<int> held{0};             // held blobs that sent their first chunk
  std::atomic<int> trickles_started{0}; // held blobs the server began to send
  std::atomic<int> trickles_ended{0};   // ... and stopped sending, for whatever reason
  std::atomic<int> ran_to_end{0};       // ... because the whole trickle went out: nobody hung up
  std::atomic<int> gated{0};            // gated blobs that sent their first half
  std::atomic<bool> gate_timed_out{false};
  void open_gate() { gate_open_ = true; }

private:
  std::string add_blob(const std::string& data) {
    const std::string digest = sha256_digest(as_bytes(data));
    blobs_[digest] = data;
    return digest;
  }

  BlobMode take_mode(const std::string& digest) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const BlobMode mode = modes_.count(digest) != 0 ? modes_[digest] : BlobMode::Whole;
    if (mode == BlobMode::CutOnce) {
      modes_[digest] = BlobMode::Whole;
    }
    return mode;
  }

  void routes() {
    server_.Get("/v2/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{}", "application/json");
    });
    server_.Get(R"(/v2/test/img/manifests/([^/]+))",
                [this](const httplib::Request&, httplib::Response& res) {
                  res.set_content(manifest_, "application/vnd.oci.image.manifest.v1+json");
                });
    server_.Get(R"(/v2/test/img/blobs/(sha256:[0-9a-f]{64}))",
                [this](const httplib::Request& req, httplib::Response& res) { blob(req, res); });
  }

  void blob(const httplib::Request& req, httplib::Response& res) {
    const auto it = blobs_.find(req.matches[1]);
    if (it == blobs_.end()) {
      res.status = 404;
      return;
    }
    const std::string& data = it->second;
    if (req.has_header("Range")) {
      ++range_requests;
    }
    switch (take_mode(it->first)) {
    case BlobMode::Missing:
      res.status = 404;
      return;
    case BlobMode::Whole:
      res.set_content(data, "application/octet-stream"); // httplib applies a Range itself
      return;
    case BlobMode::CutOnce:
      res.set_content_provider(data.size(), "application/octet-stream",
                               [&data](std::size_t, std::size_t, httplib::DataSink& sink) {
                                 sink.write(data.data(), kFirstChunk);
                                 return false; // drops the connection
                               });
      return;
    case BlobMode::Gated:
      res.set_content_provider(data.size(), "application/octet-stream",
                               [this, &data](std::size_t, std::size_t, httplib::DataSink& sink) {
                                 return send_gated(data, sink);
                               });
      return;
    case BlobMode::Held:
      res.set_content_provider(data.size(), "application/octet-stream",
                               [this, &data](std::size_t, std::size_t, httplib::DataSink& sink) {
                                 return trickle(data, sink);
                               });
      return;
    }
  }

  // Sends the first chunk, then a byte every 10 ms (bounded), never the whole blob; counts how
  // each such response ended.
  bool trickle(const std::string& data, httplib::DataSink& sink) {
    ++trickles_started;
    struct Ended {
      std::atomic<int>& count;
      ~Ended() { ++count; }
    } ended{trickles_ended};
    if (!sink.write(data.data(), kFirstChunk)) {
      return false;
    }
    ++held;
    for (int i = 0; i < kTrickleSteps; ++i) {
      std::this_thread::sleep_for(10ms);
      if (!sink.write(data.data() + kFirstChunk + i, 1)) {
        return false;
      }
    }
    ++ran_to_end;
    return false;
  }

  // Sends the first half of `data`, waits for the gate (bounded), then the rest.
  bool send_gated(const std::string& data, httplib::DataSink& sink) {
    const std::size_t half = data.size() / 2;
    if (!sink.write(data.data(), half)) {
      return false;
    }
    ++gated;
    for (int i = 0; i < kTrickleSteps && !gate_open_; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    gate_timed_out = !gate_open_;
    return sink.write(data.data() + half,
                      data.size() - half); // all: the provider is not asked again
  }

  std::atomic<bool> gate_open_{false};
  std::map<std::string, std::string> blobs_;
  std::string manifest_;
  std::mutex mutex_;
  std::map<std::string, BlobMode> modes_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

RegistryOptions options_for(const test::TempDir& dir, PullCounters& counters) {
  RegistryOptions o;
  o.cache_dir = dir / "cache";
  o.docker_config = dir / "no-docker-config.json";
  o.backoff_base_ms = 1;
  o.counters = &counters;
  return o;
}

// Resolves, fetches the layers and reads every layer, as a build does.
void pull(const FakeRegistry& fake, const RegistryOptions& options) {
  auto source = open_registry(fake.reference(), options);
  const ResolvedImage image = source->resolve(Platform::parse("linux/amd64"));
  source->fetch_layers(image.manifest.layers);
  for (const Descriptor& d : image.manifest.layers) {
    drain(*source->open_blob(d));
    REQUIRE(source->blob_fetch(d.digest));
  }
}

// A build's pull of `fake` with layers downloaded one at a time behind it
// (start_fetching_layers()), its first layer read. The blobs `cached` are in the cache before.
struct BackgroundPull {
  test::TempDir dir;
  PullCounters counters;
  std::unique_ptr<RegistrySource> source;
  ResolvedImage image;

  explicit BackgroundPull(const FakeRegistry& fake, const std::vector<std::string>& cached = {}) {
    const std::filesystem::path blobs = dir / "cache" / "blobs" / "sha256";
    std::filesystem::create_directories(blobs);
    for (const std::string& digest : cached) {
      test::write_file(blobs / digest.substr(7), as_bytes(fake.data_of(digest)));
    }
    RegistryOptions options = options_for(dir, counters);
    options.parallel_downloads = 1;
    source = open_registry(fake.reference(), options);
    image = source->resolve(Platform::parse("linux/amd64"));
    source->start_fetching_layers(image.manifest.layers);
    drain(*source->open_blob(image.manifest.layers[0]));
  }
};

// A build's pull of `fake`'s layer 1, which the server holds back after its first half
// (BlobMode::Gated) until open_gate(); its download started behind the build.
struct GatedPull {
  test::TempDir dir;
  PullCounters counters;
  std::unique_ptr<RegistrySource> source;
  ResolvedImage image;

  explicit GatedPull(FakeRegistry& fake) {
    fake.set_mode(fake.layer_digests[0], BlobMode::Gated);
    source = open_registry(fake.reference(), options_for(dir, counters));
    image = source->resolve(Platform::parse("linux/amd64"));
    source->start_fetching_layers(image.manifest.layers);
  }
};

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_SUITE("registry::RegistrySource") {
  TEST_CASE("a first pull counts misses and the bytes of every blob - a second pull only hits") {
    FakeRegistry fake(2);
    test::TempDir dir;
    PullCounters counters;
    const RegistryOptions options = options_for(dir, counters);
    const std::uint64_t all = fake.size_of(fake.config_digest) +
                              fake.size_of(fake.layer_digests[0]) +
                              fake.size_of(fake.layer_digests[1]);
    {
      auto source = open_registry(fake.reference(), options);
      const ResolvedImage image = source->resolve(Platform::parse("linux/amd64"));
      CHECK_FALSE(source->blob_fetch(fake.layer_digests[0])); // not needed yet
      source->fetch_layers(image.manifest.layers);
      for (const Descriptor& d : image.manifest.layers) {
        drain(*source->open_blob(d));
        const auto fetch = source->blob_fetch(d.digest);
        REQUIRE(fetch);
        CHECK_FALSE(fetch->from_cache);
        CHECK(fetch->downloaded == d.size);
      }
    }
    CHECK(counters.cache_misses == 3); // config and two layers, each once
    CHECK(counters.cache_hits == 0);   // opening a layer fetched moments ago is not a hit
    CHECK(counters.bytes_pulled == all);

    auto again = open_registry(fake.reference(), options);
    const ResolvedImage image = again->resolve(Platform::parse("linux/amd64"));
    again->fetch_layers(image.manifest.layers);
    for (const Descriptor& d : image.manifest.layers) {
      drain(*again->open_blob(d));
      const auto fetch = again->blob_fetch(d.digest);
      REQUIRE(fetch);
      CHECK(fetch->from_cache);
      CHECK(fetch->downloaded == 0);
    }
    CHECK(counters.cache_hits == 3);
    CHECK(counters.cache_misses == 3);
    CHECK(counters.bytes_pulled == all);
  }

  TEST_CASE("a layer this pull downloaded is opened without hashing it again - if gone, fetched "
            "again") {
    FakeRegistry fake(2);
    test::TempDir dir;
    PullCounters counters;
    const RegistryOptions options = options_for(dir, counters);
    auto source = open_registry(fake.reference(), options);
    const ResolvedImage image = source->resolve(Platform::parse("linux/amd64"));
    source->fetch_layers(image.manifest.layers);
    const std::uint64_t pulled = counters.bytes_pulled;
    const auto cached = [&](const std::string& digest) {
      return dir / "cache" / "blobs" / "sha256" / digest.substr(7);
    };
    // Damaged after its download: no second hash catches it at open (a cache hit would be
    // re-hashed, dropped and fetched again), but the check while it is applied still does.
    const Descriptor& first = image.manifest.layers[0];
    Bytes damaged = test::read_file(cached(first.digest));
    damaged[damaged.size() / 2] ^= 0x01;
    test::write_file(cached(first.digest), damaged);
    CHECK(test::code_of([&] { drain(*source->open_blob(first)); }) == ErrorCode::DigestMismatch);
    CHECK(counters.bytes_pulled == pulled);
    // Gone (another process evicted it): fetched again.
    const Descriptor& second = image.manifest.layers[1];
    std::filesystem::remove(cached(second.digest));
    drain(*source->open_blob(second));
    CHECK(counters.bytes_pulled == pulled + second.size);
  }

  TEST_CASE("a layer is read while it downloads - start_fetching_layers does not wait for it") {
    FakeRegistry fake(1, 256 << 10);
    const std::string& digest = fake.layer_digests[0];
    GatedPull pull(fake);
    RegistrySource* source = pull.source.get();
    const ResolvedImage& image = pull.image;
    const test::TempDir& dir = pull.dir;
    auto blob = source->open_blob(image.manifest.layers[0]);
    const std::string_view data = fake.data_of(digest);
    const Bytes half(data.begin(), data.begin() + (128 << 10));
    Bytes first(half.size());
    for (std::size_t done = 0; done < first.size();) { // the server holds back the rest
      const std::size_t n = blob->read(std::span<std::uint8_t>(first).subspan(done));
      REQUIRE(n > 0);
      done += n;
    }
    CHECK(first == half);
    CHECK(fake.gated == 1);
    CHECK_FALSE(source->blob_fetch(digest)); // not in the cache yet
    fake.open_gate();
    const Bytes rest = test::read_all(*blob, 10000);
    CHECK_FALSE(fake.gate_timed_out); // the first half was read before the server sent more
    CHECK(rest == Bytes(data.begin() + (128 << 10), data.end()));
    REQUIRE(source->blob_fetch(digest)); // the reader's end waited for the cache's
    CHECK(source->blob_fetch(digest)->downloaded == (256 << 10));
    CHECK(std::filesystem::exists(dir / "cache" / "blobs" / "sha256" / digest.substr(7)));
    CHECK(pull.counters.bytes_pulled == fake.size_of(fake.config_digest) + (256 << 10));
  }

  TEST_CASE("stop_reading ends a read that waits for a layer still downloading") {
    FakeRegistry fake(1, 256 << 10);
    GatedPull pull(fake);
    auto blob = pull.source->open_blob(pull.image.manifest.layers[0]);
    Bytes buffer(256 << 10);
    std::optional<ErrorCode> error;
    std::size_t got = 0;
    std::thread reader([&] { // reads past the half the server sent, so it waits
      error = test::code_of([&] {
        for (std::size_t n = 1; n > 0; got += n) {
          n = blob->read(std::span<std::uint8_t>(buffer).subspan(got));
        }
      });
    });
    for (int i = 0; i < 2000 && fake.gated == 0; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    pull.source->stop_reading(); // the build failed elsewhere
    reader.join();
    CHECK(error == ErrorCode::Cancelled);
    CHECK(got <= (128 << 10));
    CHECK_FALSE(fake.gate_timed_out); // it did not take the gate's opening to end the read
    fake.open_gate();
  }

  TEST_CASE("start_fetching_layers: the layers download behind the build, stopped when the "
            "source goes") {
    FakeRegistry fake(2);
    fake.set_mode(fake.layer_digests[1], BlobMode::Held);
    BackgroundPull pull(fake);
    REQUIRE(pull.source->blob_fetch(fake.layer_digests[0]));
    CHECK_FALSE(pull.source->blob_fetch(fake.layer_digests[0])->from_cache);
    for (int i = 0; i < 500 && fake.held == 0; ++i) { // the second is under way, behind
      std::this_thread::sleep_for(10ms);
    }
    CHECK(fake.held == 1);
    pull.source.reset(); // the build ended (failed, say) with layer 2 still downloading
    for (int i = 0; i < 500 && fake.trickles_ended < fake.trickles_started; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK(fake.trickles_ended == fake.trickles_started);
    CHECK(fake.ran_to_end == 0); // the client hung up rather than waiting for all of it
    CHECK_FALSE(std::filesystem::exists(pull.dir / "cache" / "blobs" / "sha256" /
                                        fake.layer_digests[1].substr(7)));
    CHECK(files_in(pull.dir / "cache" / "tmp") == 0);
  }

  TEST_CASE("a background download's error reaches the layer it failed and those it stopped") {
    FakeRegistry fake(4);
    fake.set_mode(fake.layer_digests[1], BlobMode::Missing);
    BackgroundPull pull(fake, {fake.layer_digests[3]});
    const auto& layers = pull.image.manifest.layers;
    RegistrySource& source = *pull.source;
    const auto read = [&](const Descriptor& d) {
      return [&source, d] { drain(*source.open_blob(d)); };
    };
    const std::string missing = test::error_of(read(layers[1]));
    CHECK(missing.find(fake.layer_digests[1]) != std::string::npos);
    CHECK(test::code_of(read(layers[1])) == ErrorCode::NotFound);
    // Layer 3 was not started after the error, nor fetched when it is read: the same error.
    CHECK(test::error_of(read(layers[2])) == missing);
    // Those it had fetched, and those in the cache, open as before.
    drain(*source.open_blob(layers[0]));
    drain(*source.open_blob(layers[3]));
    CHECK(pull.counters.bytes_pulled ==
          fake.size_of(fake.config_digest) + fake.size_of(fake.layer_digests[0]));
  }

  TEST_CASE("downloads report their progress per layer - from 0 to the size - every 256 KiB") {
    FakeRegistry fake(3, 1 << 20);
    test::TempDir dir;
    PullCounters counters;
    RegistryOptions options = options_for(dir, counters);
    std::mutex mutex;
    std::map<std::string, std::vector<TransferProgress>> seen; // by label
    options.progress = [&](const TransferProgress& p) {
      const std::lock_guard<std::mutex> lock(mutex);
      seen[p.label].push_back(p);
    };
    pull(fake, options);
    REQUIRE(seen.size() == 4); // the config is fetched as a "blob", outside fetch_layers()
    CHECK(seen["blob"].back().digest == fake.config_digest);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& events = seen["layer " + std::to_string(i + 1) + "/3"];
      REQUIRE(events.size() >= 2);
      CHECK(events.size() <= (1 << 20) / kProgressEveryBytes + 2); // not one per chunk
      CHECK(events.front().done == 0);
      CHECK(events.back().done == 1 << 20);
      for (std::size_t k = 0; k < events.size(); ++k) {
        CHECK(events[k].phase == TransferProgress::Phase::Download);
        CHECK(events[k].digest == fake.layer_digests[i]);
        CHECK(events[k].total == 1 << 20);
        CHECK((k == 0 || events[k].done > events[k - 1].done));
      }
    }
  }

  TEST_CASE("a resumed download counts both parts, which add up to the blob once") {
    FakeRegistry fake(1);
    fake.set_mode(fake.layer_digests[0], BlobMode::CutOnce);
    test::TempDir dir;
    PullCounters counters;
    pull(fake, options_for(dir, counters));
    CHECK(fake.range_requests == 1);
    CHECK(counters.bytes_pulled ==
          fake.size_of(fake.config_digest) + fake.size_of(fake.layer_digests[0]));
    CHECK(counters.cache_misses == 2);
  }

  TEST_CASE("an interrupt stops a download part-way: no partial blob, the connection closed") {
    int parallel = 1;
    SUBCASE("one download at a time, in the calling thread") {
      parallel = 1;
    }
    SUBCASE("two downloads at a time, in download threads") {
      parallel = 2;
    }
    FakeRegistry fake(2);
    for (const std::string& d : fake.layer_digests) {
      fake.set_mode(d, BlobMode::Held);
    }
    test::TempDir dir;
    PullCounters counters;
    RegistryOptions options = options_for(dir, counters);
    options.parallel_downloads = parallel;
    // As the daemon's cancel does: from the moment a layer's bytes arrive, every check throws.
    const std::uint64_t config_size = fake.size_of(fake.config_digest);
    options.interrupt = [&] {
      if (counters.bytes_pulled > config_size) {
        throw Error(ErrorCode::Cancelled, "cancelled on request");
      }
    };
    auto source = open_registry(fake.reference(), options);
    const ResolvedImage image = source->resolve(Platform::parse("linux/amd64"));
    try {
      source->fetch_layers(image.manifest.layers);
      FAIL("the held layers were fetched despite the interrupt");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Cancelled);
      CHECK(std::string(e.what()) == "cancelled on request");
    }
    for (const std::string& d : fake.layer_digests) {
      CHECK_FALSE(std::filesystem::exists(dir / "cache" / "blobs" / "sha256" / d.substr(7)));
    }
    CHECK(files_in(dir / "cache" / "tmp") == 0);
    CHECK(counters.bytes_pulled > config_size);
    CHECK(counters.bytes_pulled < config_size + 2 * (64 << 10)); // no layer arrived whole
    // The server notices the closed connection at its next byte. (A second download's request
    // may reach the server only after the pull has stopped, so its trickle can start late: wait
    // for every started one to end, rather than compare counts read at one moment.)
    bool settled = false;
    for (int i = 0; i < 2 * kTrickleSteps && !settled; ++i) {
      settled = fake.held > 0 && fake.trickles_ended == fake.trickles_started;
      if (!settled) {
        std::this_thread::sleep_for(10ms);
      }
    }
    CHECK(settled);              // a layer download began, and every one the server sent ended
    CHECK(fake.ran_to_end == 0); // because the client hung up, not because the trickle ran out
  }
}

// Here rather than in a pipeline test file: it needs the fake registry above.
TEST_SUITE("pipeline::layer_application") {
  TEST_CASE("a layer that fails while it downloads fails the build at once, not at its end") {
    // 8 MiB of random bytes as a tar layer: the first tar header is invalid. The server sends
    // the first half and holds the rest; the read-ahead threads (threads = 2) wait for it.
    FakeRegistry fake(1, 8 << 20);
    GatedPull pull(fake);
    FileSpool spool(pull.dir / "content.spool");
    LayerFlattener flattener(spool);
    const std::string error = test::error_of([&] {
      pipeline::apply_layers(
          *pull.source, pull.image, flattener, [](const std::string&) {}, {}, 2);
    });
    CHECK(error.find("layer 1") != std::string::npos); // the tar's own error, not Cancelled
    CHECK(error.find("stopped") == std::string::npos);
    CHECK(fake.gated == 1);
    CHECK_FALSE(fake.gate_timed_out); // reported while the server still held the rest
    fake.open_gate();
  }
}
