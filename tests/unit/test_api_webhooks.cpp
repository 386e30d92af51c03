#include "api/webhooks/push_event.hpp"
#include "api/webhooks/signature.hpp"
#include "api/webhooks/webhook_handler.hpp"
#include "core/error.hpp"
#include "core/json_fields.hpp"
#include "server/build_request.hpp"
#include "server/webhook_config.hpp"
#include "server/webhook_dedupe.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace oci2eif;
using namespace oci2eif::api::webhooks;
using nlohmann::json;

namespace {

// The "webhooks" section of a config file, as load_serve_config hands it over.
server::WebhookConfig webhook_config(const json& section) {
  const json file = {{"webhooks", section}};
  return server::parse_webhook_config(
      JsonField(file, "configuration", ErrorCode::InvalidInput)["webhooks"]);
}

// The envelope a real docker-registry sent for `skopeo copy … test/busybox:oci`, plus a pull
// and a layer push (both to be ignored).
json distribution_envelope() {
  std::ifstream in(test::data_dir() / "webhooks" / "distribution-push.json");
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str());
  json pull = j["events"][0];
  pull["action"] = "pull";
  json blob = j["events"][0];
  blob["target"]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip";
  j["events"].push_back(pull);
  j["events"].push_back(blob);
  return j;
}

const json kHarbor = json::parse(R"({
  "type": "PUSH_ARTIFACT", "occur_at": 1700000000, "operator": "admin",
  "event_data": {
    "resources": [{"digest": "sha256:aaaa", "tag": "v1",
                   "resource_url": "harbor.example.com/library/app:v1"}],
    "repository": {"date_created": 1, "name": "app", "namespace": "library",
                   "repo_full_name": "library/app", "repo_type": "private"}}})");

const json kDockerHub = json::parse(R"({
  "callback_url": "https://registry.hub.docker.com/u/team/app/hook/x/",
  "push_data": {"pushed_at": 1417566161, "pusher": "ci", "tag": "latest"},
  "repository": {"repo_name": "team/app", "name": "app", "namespace": "team"}})");

const json kGitHub = json::parse(R"({
  "action": "published",
  "package": {"name": "App", "namespace": "Octo-Org", "package_type": "container",
    "package_version": {"version": "sha256:bbbb",
      "container_metadata": {"tag": {"name": "v2", "digest": "sha256:bbbb"}}},
    "registry": {"url": "https://ghcr.io", "type": "docker"}}})");

} // namespace

TEST_SUITE("api::webhooks") {
  TEST_CASE("webhook distribution: a manifest push counts - pulls and blobs are ignored") {
    const ParsedDelivery d = parse_distribution(distribution_envelope().dump());
    REQUIRE(d.pushes.size() == 1);
    CHECK(d.ignored == 2);
    const PushEvent& p = d.pushes[0];
    CHECK(p.repository == "test/busybox");
    CHECK(p.tag == "oci");
    CHECK(p.digest == "sha256:63f205e04a0ea6f70452ad14c9634fbe9981590c4fd17e5fd4625ba06c065cb5");
    CHECK(p.host == "127.0.0.1:15000");
    CHECK(p.event_id == "984844f6-6077-45af-938b-8814c43f29d5");
  }

  TEST_CASE("webhook distribution: malformed envelopes name the field") {
    CHECK(test::error_of([] { parse_distribution("{not json"); }).find("not valid JSON") !=
          std::string::npos);
    CHECK(test::error_of([] { parse_distribution("{}"); }) ==
          "distribution payload: events: missing; expected an array");
    CHECK(test::error_of([] {
            parse_distribution(R"({"events":[{"action":"push","target":{"mediaType":
              "application/vnd.oci.image.manifest.v1+json","tag":"x"}}]})");
          }) == "distribution payload: events[0].target.repository: missing; expected a string");
    CHECK(test::error_of([] {
            parse_distribution(R"({"events":[{"action":"push","target":{"mediaType":
              "application/vnd.oci.image.manifest.v1+json","tag":"x","repository":"r",
              "digest":5}}]})");
          }) == "distribution payload: events[0].target.digest: expected a string, found number");
  }

  TEST_CASE("webhook payloads nested beyond 128 levels are refused as invalid input") {
    // Bodies come from the network before any rule matches: an unbounded parse would let one
    // request build a value whose recursive walk exhausts the stack.
    const std::string deep = "{\"events\":" + std::string(100000, '[') + "}";
    const std::vector<std::function<void()>> parsers{
        [&] { parse_distribution(deep); }, [&] { parse_harbor(deep); },
        [&] { parse_dockerhub(deep); }, [&] { parse_github(deep, "package"); }};
    const std::vector<std::string> names{"distribution", "harbor", "dockerhub", "github"};
    for (std::size_t i = 0; i < parsers.size(); ++i) {
      CAPTURE(names[i]);
      try {
        parsers[i]();
        FAIL("accepted");
      } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::InvalidInput);
        CHECK(std::string(e.what()) == names[i] + " payload nests deeper than 128 levels");
      }
    }
  }

  TEST_CASE("webhook harbor: PUSH_ARTIFACT resources - other types ignored") {
    const ParsedDelivery d = parse_harbor(kHarbor.dump());
    REQUIRE(d.pushes.size() == 1);
    CHECK(d.pushes[0].repository == "library/app");
    CHECK(d.pushes[0].tag == "v1");
    CHECK(d.pushes[0].digest == "sha256:aaaa");
    CHECK(d.pushes[0].host == "harbor.example.com");
    json pull = kHarbor;
    pull["type"] = "PULL_ARTIFACT";
    CHECK(parse_harbor(pull.dump()).pushes.empty());
    CHECK(parse_harbor(pull.dump()).ignored == 1);
  }

  TEST_CASE("webhook dockerhub: a tag without a digest") {
    const ParsedDelivery d = parse_dockerhub(kDockerHub.dump());
    REQUIRE(d.pushes.size() == 1);
    CHECK(d.pushes[0].repository == "team/app");
    CHECK(d.pushes[0].tag == "latest");
    CHECK_FALSE(d.pushes[0].digest.has_value());
    CHECK(d.pushes[0].event_id == "pushed_at:1417566161");
    CHECK(test::error_of([] { parse_dockerhub(R"({"push_data":{}})"); }) ==
          "dockerhub payload: repository: missing; expected an object");
  }

  TEST_CASE("webhook github: container package published - ping and other packages ignored") {
    const ParsedDelivery d = parse_github(kGitHub.dump(), "package");
    REQUIRE(d.pushes.size() == 1);
    CHECK(d.pushes[0].repository == "octo-org/app");
    CHECK(d.pushes[0].tag == "v2");
    CHECK(d.pushes[0].digest == "sha256:bbbb");
    CHECK(d.pushes[0].host == "ghcr.io");
    json registry_package = {{"action", "published"}, {"registry_package", kGitHub["package"]}};
    CHECK(parse_github(registry_package.dump(), "registry_package").pushes.size() == 1);
    CHECK(parse_github(R"({"zen":"hi"})", "ping").ignored == 1);
    json npm = kGitHub;
    npm["package"]["package_type"] = "npm";
    CHECK(parse_github(npm.dump(), "package").ignored == 1);
  }

  TEST_CASE("webhook signature: GitHub's X-Hub-Signature-256 test vector") {
    // From GitHub's documentation, "Validating webhook deliveries".
    CHECK(github_signature("It's a Secret to Everybody", "Hello, World!") ==
          "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    CHECK(verify_github_signature(
        "It's a Secret to Everybody", "Hello, World!",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
    CHECK_FALSE(verify_github_signature(
        "It's a Secret to Everybody", "Hello, World?",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
    CHECK_FALSE(verify_github_signature("secret", "body", ""));
    CHECK(authorization_matches("s3cret-0123456789", "Bearer s3cret-0123456789"));
    CHECK(authorization_matches("s3cret-0123456789", "s3cret-0123456789"));
    CHECK_FALSE(authorization_matches("s3cret-0123456789", "Bearer s3cret-012345678"));
    CHECK_FALSE(authorization_matches("", ""));
  }

  TEST_CASE("webhook rules: configuration is validated and the first matching rule wins") {
    const server::WebhookConfig c =
        webhook_config(json::parse(R"({"secrets": {"github": "0123456789abcdef"},
          "rules": [{"repository": "test/*", "tag": "v*", "registry": "r.example:5000",
                     "build": {"cmdline": "console=ttyS0", "labels": {"team": "a"}}},
                    {"repository": "*"}]})"));
    CHECK(server::match_webhook_rule(c, "test/app", "v1")->registry == "r.example:5000");
    CHECK(server::match_webhook_rule(c, "test/app", "latest")->registry.empty());
    auto error = [](const char* text) {
      return test::error_of([&] { webhook_config(json::parse(text)); });
    };
    CHECK(error(R"({"secrets": {"gitlab": "0123456789abcdef"}})")
              .find("webhooks.secrets.gitlab: "
                    "unknown source") != std::string::npos);
    CHECK(error(R"({"secrets": {"github": "short"}})") ==
          "configuration: webhooks.secrets.github: shorter than 16 characters");
    CHECK(error(R"({"rules": [{"build": {"image": "x"}}]})").find("without \"image\"") !=
          std::string::npos);
    CHECK(error(R"({"rules": [{"build": {"compres": "gzip"}}]})")
              .find("webhooks.rules[0].build: field 'compres': unknown field") !=
          std::string::npos);
  }

  TEST_CASE("webhook rules: push names the pushed image's registry, repository and tag") {
    CHECK(server::render_push_target("{registry}/{repository}:{tag}-eif", "r.example:5000",
                                     "team/app", "v1") == "r.example:5000/team/app:v1-eif");
    CHECK(server::render_push_target("r.example/eifs:{tag}{tag}", "x", "y", "v1") ==
          "r.example/eifs:v1v1");
    CHECK(server::render_push_target("r.example/{unknown}:{tag", "x", "y", "v1") ==
          "r.example/{unknown}:{tag");
    // A template is checked at start with its placeholders filled in.
    CHECK_NOTHROW(webhook_config(
        json::parse(R"({"rules": [{"build": {"push": "{registry}/{repository}:{tag}-eif"}}]})")));
    CHECK(test::error_of([] {
            webhook_config(json::parse(R"({"rules": [{"build": {"push": "r.example/a@sha256:)" +
                                       std::string(64, 'a') + R"("}}]})"));
          }).find("webhooks.rules[0].build: field 'push': ") != std::string::npos);
  }

  TEST_CASE("webhook handler: push targets rendered and checked, referrers tags ignored") {
    test::TempDir dir;
    server::ServeConfig config;
    config.data_dir = dir.path();
    config.push_targets = {"127.0.0.1:15000/test/*"};
    config.webhooks = webhook_config(json::parse(R"({"secrets": {"distribution":
      "dist-secret-0123456789"}, "rules": [{"repository": "test/busybox", "tag": "oci",
      "build": {"push": "{registry}/{repository}:{tag}-eif"}}, {"repository": "other/*",
      "build": {"push": "127.0.0.1:15000/elsewhere/x:eif"}}]})"));
    auto store = server::open_sqlite_job_store((dir / "jobs.db").string(), server::system_clock());
    const auto dedupe = server::open_sqlite_webhook_dedupe(
        (dir / "jobs.db").string(), server::system_clock(), std::chrono::seconds(600));
    WebhookHandler h(config, *store, *dedupe, [] {});
    json envelope = distribution_envelope();
    auto r = h.handle({"distribution", "dist-secret-0123456789", "", "", envelope.dump()});
    REQUIRE(r.body["queued"].size() == 1);
    const auto b = store->get(r.body["queued"][0]["id"]);
    REQUIRE(b);
    CHECK(server::parse_build_request(b->request_json).push ==
          "127.0.0.1:15000/test/busybox:oci-eif");

    // The index a registry tags when an artifact is attached to an image: never built.
    json fallback = envelope;
    fallback["events"][0]["target"]["tag"] = "sha256-" + std::string(64, 'c');
    fallback["events"][0]["id"] = "another-event";
    r = h.handle({"distribution", "dist-secret-0123456789", "", "", fallback.dump()});
    CHECK(r.status == 200);
    CHECK(r.body["ignored"] == 3);
    CHECK(r.body["queued"].empty());

    // A rule whose push target the operator did not list: refused, nothing queued.
    json other = envelope;
    other["events"][0]["target"]["repository"] = "other/app";
    other["events"][0]["id"] = "a-third-event";
    r = h.handle({"distribution", "dist-secret-0123456789", "", "", other.dump()});
    REQUIRE(r.problem);
    CHECK(r.problem->status == 400);
    CHECK(r.problem->detail.find("127.0.0.1:15000/elsewhere/x is not among this service's "
                                 "push_targets") != std::string::npos);
    CHECK(store->count_queued() == 1);
  }

  TEST_CASE("webhook handler: auth, rules, dedupe and enqueue") {
    test::TempDir dir;
    server::ServeConfig config;
    config.data_dir = dir.path();
    config.webhooks =
        webhook_config(json::parse(R"({"secrets": {"distribution": "dist-secret-0123456789",
                                    "github": "hub-secret-0123456789"},
                        "rules": [{"repository": "test/*", "build": {"labels": {"via": "hook"}}}]})"));
    auto store = server::open_sqlite_job_store((dir / "jobs.db").string(), server::system_clock());
    const auto dedupe = server::open_sqlite_webhook_dedupe(
        (dir / "jobs.db").string(), server::system_clock(), std::chrono::seconds(600));
    int notified = 0;
    WebhookHandler h(config, *store, *dedupe, [&] { ++notified; });
    const std::string body = distribution_envelope().dump();

    auto r = h.handle({"distribution", "Bearer wrong-secret-0123456", "", "", body});
    CHECK(r.problem->status == 401);
    CHECK(r.problem->detail.find("dist-secret") == std::string::npos);
    CHECK(h.handle({"harbor", "", "", "", body}).problem->status == 404);
    CHECK(h.handle({"github", "", "sha256=00", "package", kGitHub.dump()}).problem->code ==
          "bad_signature");

    r = h.handle({"distribution", "Bearer dist-secret-0123456789", "", "", body});
    REQUIRE_FALSE(r.problem);
    CHECK(r.status == 202);
    CHECK(r.outcome == "queued");
    REQUIRE(r.body["queued"].size() == 1);
    CHECK(r.body["ignored"] == 2);
    CHECK(r.body["queued"][0]["image"] ==
          "127.0.0.1:15000/test/busybox@sha256:"
          "63f205e04a0ea6f70452ad14c9634fbe9981590c4fd17e5fd4625ba06c065cb5");
    const auto b = store->get(r.body["queued"][0]["id"]);
    REQUIRE(b);
    CHECK(b->labels.at("via") == "hook");
    CHECK(b->labels.at("webhook.source") == "distribution");
    CHECK(b->labels.at("webhook.tag") == "oci");
    CHECK(notified == 1);

    r = h.handle({"distribution", "dist-secret-0123456789", "", "", body});
    CHECK(r.status == 200);
    CHECK(r.outcome == "duplicate");
    CHECK(r.body["duplicates"] == 1);
    CHECK(store->count_queued() == 1);

    r = h.handle({"distribution", "dist-secret-0123456789", "", "", R"({"events": 1})"});
    CHECK(r.problem->status == 400);
    CHECK(r.problem->code == "invalid_payload");

    // A repository no rule matches is ignored, not an error.
    r = h.handle({"github", "", github_signature("hub-secret-0123456789", kGitHub.dump()),
                  "package", kGitHub.dump()});
    REQUIRE_FALSE(r.problem);
    CHECK(r.status == 200);
    CHECK(r.outcome == "ignored");
  }
}
