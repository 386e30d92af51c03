// Pushing artifacts against a small OCI distribution 1.1 registry served from memory on
// 127.0.0.1, with the referrers API switched on or off. The registry lab's docker-registry 2.8
// has no referrers API, so this is where the API path is exercised: with it, the registry lists
// referrers itself and no fallback tag is written; without it (404, or a 200 that is not an
// index), the fallback tag's index is kept. What the server stores is checked by digest here,
// computed by the test from the bytes it received.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/eif_artifact.hpp"
#include "registry/registry_pusher.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

enum class Referrers { Api, NotFound, HtmlPage };

class Oci11Registry {
public:
  explicit Oci11Registry(Referrers referrers) : referrers_(referrers) {
    routes();
    port_ = test::reserved_port();
    REQUIRE(server_.bind_to_port("127.0.0.1", port_));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Oci11Registry() {
    server_.stop();
    thread_.join();
  }
  Oci11Registry(const Oci11Registry&) = delete;
  Oci11Registry& operator=(const Oci11Registry&) = delete;

  Reference reference(const std::string& tag) const {
    return Reference::parse("127.0.0.1:" + std::to_string(port_) + "/team/app:" + tag);
  }
  // The manifest stored under a tag or digest, "" if none.
  std::string manifest(const std::string& ref) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto it = manifests_.find(ref);
    return it == manifests_.end() ? "" : it->second;
  }
  // Manifest PUTs by reference, in order.
  std::vector<std::string> manifest_puts() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return puts_;
  }
  int blob_uploads() const { return uploads_; }

private:
  void routes() {
    server_.Get("/v2/", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    // httplib answers HEAD with the GET handler, without the body.
    server_.Get(R"(/v2/team/app/blobs/(sha256:[0-9a-f]{64}))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::lock_guard<std::mutex> lock(mutex_);
                  const auto it = blobs_.find(req.matches[1]);
                  if (it == blobs_.end()) {
                    res.status = 404;
                    return;
                  }
                  res.set_content(it->second, "application/octet-stream");
                });
    server_.Post("/v2/team/app/blobs/uploads/",
                 [](const httplib::Request&, httplib::Response& res) {
                   res.status = 202;
                   res.set_header("Location", "/v2/team/app/blobs/uploads/u1");
                 });
    server_.Put("/v2/team/app/blobs/uploads/u1",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string digest = req.get_param_value("digest");
                  if (sha256_digest(as_bytes(req.body)) != digest) {
                    res.status = 400;
                    return;
                  }
                  const std::lock_guard<std::mutex> lock(mutex_);
                  blobs_[digest] = req.body;
                  ++uploads_;
                  res.status = 201;
                });
    server_.Put(R"(/v2/team/app/manifests/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) { put(req, res); });
    server_.Get(R"(/v2/team/app/manifests/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) { get(req, res); });
    server_.Get(
        R"(/v2/team/app/referrers/(sha256:[0-9a-f]{64}))",
        [this](const httplib::Request& req, httplib::Response& res) { referrers(req, res); });
  }

  void put(const httplib::Request& req, httplib::Response& res) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const std::string digest = sha256_digest(as_bytes(req.body));
    manifests_[req.matches[1]] = manifests_[digest] = req.body;
    types_[digest] = req.get_header_value("Content-Type");
    puts_.push_back(req.matches[1]);
    res.set_header("Docker-Content-Digest", digest);
    res.status = 201;
  }

  void get(const httplib::Request& req, httplib::Response& res) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto it = manifests_.find(req.matches[1]);
    if (it == manifests_.end()) {
      res.status = 404;
      return;
    }
    const std::string digest = sha256_digest(as_bytes(it->second));
    res.set_header("Docker-Content-Digest", digest);
    res.set_content(it->second, types_[digest]);
  }

  // The distribution 1.1 referrers API: an index of the stored manifests whose subject is the
  // digest, each with its artifactType and annotations.
  void referrers(const httplib::Request& req, httplib::Response& res) {
    if (referrers_ == Referrers::NotFound) {
      res.status = 404;
      return;
    }
    if (referrers_ == Referrers::HtmlPage) { // a front page answering every path
      res.set_content("<html>registry</html>", "text/html");
      return;
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    nlohmann::json index{{"schemaVersion", 2},
                         {"mediaType", media_type::kOciIndex},
                         {"manifests", nlohmann::json::array()}};
    for (const auto& [ref, body] : manifests_) {
      const auto m = nlohmann::json::parse(body);
      if (!ref.starts_with("sha256:") || !m.contains("subject") ||
          m["subject"]["digest"] != req.matches[1]) {
        continue;
      }
      index["manifests"].push_back({{"mediaType", m["mediaType"]},
                                    {"digest", ref},
                                    {"size", body.size()},
                                    {"artifactType", m["artifactType"]},
                                    {"annotations", m.value("annotations", nlohmann::json())}});
    }
    res.set_content(index.dump(), media_type::kOciIndex);
  }

  Referrers referrers_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, std::string> blobs_, manifests_, types_;
  std::vector<std::string> puts_;
  std::atomic<int> uploads_{0};
};

const std::string kImage = "sha256:" + std::string(64, 'a');

// An artifact of `layer` whose subject is the image kImage.
Artifact test_artifact(const std::string& layer) {
  Artifact a;
  a.layer = {eif_artifact::kLayerType, sha256_digest(as_bytes(layer)), layer.size(), {}, {}};
  a.annotations = {{eif_artifact::kArch, "x86_64"}};
  a.subject = Descriptor{media_type::kOciManifest, kImage, 100, {}, {}};
  return a;
}

RegistryOptions options(const test::TempDir& dir) {
  RegistryOptions o;
  o.cache_dir = dir / "cache";
  o.max_attempts = 1;
  return o;
}

} // namespace

TEST_SUITE("registry::registry_pusher") {
  TEST_CASE("with the referrers API the registry lists the artifact: no fallback tag is written") {
    test::TempDir dir;
    Oci11Registry registry(Referrers::Api);
    const std::string layer = "an EIF's bytes";
    const PushedArtifact pushed = push_artifact(registry.reference("eif"), options(dir),
                                                test_artifact(layer), memory_body(layer));
    CHECK(pushed.referrers_api);
    CHECK(pushed.blobs_uploaded == 2); // the empty config and the layer
    CHECK(registry.manifest_puts() == std::vector<std::string>{"eif"});
    CHECK(pushed.digest == sha256_digest(as_bytes(registry.manifest("eif"))));
    const auto listed = artifact_referrers(registry.reference("eif"), options(dir), kImage,
                                           eif_artifact::kArtifactType);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].digest == pushed.digest);
    CHECK(listed[0].annotations.at(eif_artifact::kArch) == "x86_64");
    CHECK(artifact_referrers(registry.reference("eif"), options(dir), kImage,
                             provenance_artifact::kArtifactType)
              .empty());
    // Again: nothing uploaded, the same manifest.
    const PushedArtifact again = push_artifact(registry.reference("eif"), options(dir),
                                               test_artifact(layer), memory_body(layer));
    CHECK(again.blobs_uploaded == 0);
    CHECK(registry.blob_uploads() == 2);
    CHECK(again.digest == pushed.digest);
  }

  TEST_CASE(
      "without the referrers API (404, or a page that is no index) the fallback tag lists it") {
    for (const Referrers mode : {Referrers::NotFound, Referrers::HtmlPage}) {
      CAPTURE(static_cast<int>(mode));
      test::TempDir dir;
      Oci11Registry registry(mode);
      const std::string tag = "sha256-" + std::string(64, 'a');
      const PushedArtifact first = push_artifact(registry.reference("one"), options(dir),
                                                 test_artifact("first"), memory_body("first"));
      const PushedArtifact second = push_artifact(registry.reference("two"), options(dir),
                                                  test_artifact("second"), memory_body("second"));
      CHECK_FALSE(first.referrers_api);
      CHECK(registry.manifest_puts() == std::vector<std::string>{"one", tag, "two", tag});
      const auto index = nlohmann::json::parse(registry.manifest(tag));
      REQUIRE(index["manifests"].size() == 2);
      CHECK(index["manifests"][0]["digest"] == first.digest);
      CHECK(index["manifests"][1]["digest"] == second.digest);
      const auto listed = artifact_referrers(registry.reference("one"), options(dir), kImage,
                                             eif_artifact::kArtifactType);
      REQUIRE(listed.size() == 2);
      CHECK(listed[1].digest == second.digest);
    }
  }

  TEST_CASE("a reference without tag or digest stores the manifest under its own digest") {
    test::TempDir dir;
    Oci11Registry registry(Referrers::NotFound);
    Reference by_digest = registry.reference("x");
    by_digest.tag.clear();
    Artifact a = test_artifact("provenance line");
    a.subject.reset();
    const PushedArtifact pushed =
        push_artifact(by_digest, options(dir), a, memory_body("provenance line"));
    CHECK(registry.manifest_puts() == std::vector<std::string>{pushed.digest});
  }
}
