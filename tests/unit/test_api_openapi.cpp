#include "api/http_api.hpp"
#include "api/openapi.hpp"
#include "server/service_metrics.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <set>

using namespace oci2eif;

TEST_SUITE("api::openapi") {
  TEST_CASE("openapi: the document lists exactly the routes the server registers") {
    test::TempDir dir;
    server::ServeConfig config;
    config.data_dir = dir.path();
    auto store = server::open_sqlite_job_store((dir / "jobs.db").string(), server::system_clock());
    const auto artifacts = server::open_directory_artifact_store(dir / "artifacts");
    server::KernelCatalog kernels(config.kernels, dir / "kernels");
    const server::SigningKeys signing_keys(config.signing_keys);
    const auto logs = server::open_directory_build_log_store(dir / "logs");
    const auto dedupe = server::open_sqlite_webhook_dedupe(
        (dir / "jobs.db").string(), server::system_clock(), std::chrono::seconds(60));
    server::BuildRunner runner(config, kernels, signing_keys, *artifacts, *logs);
    server::WorkerPool pool(
        *store, [](const server::BuildRecord&, const Interrupt&) { return server::BuildOutcome{}; },
        {});
    server::Metrics metrics;
    server::declare_service_metrics(metrics);
    const server::DependencyMonitor none({}, std::chrono::hours(1)); // embedded: nothing to watch
    const api::HttpApi http({config, *store, *artifacts, runner, kernels, signing_keys, pool,
                             metrics, *logs, *dedupe, none});

    std::set<std::pair<std::string, std::string>> served;
    for (const api::ApiRoute& r : http.route_table()) {
      CHECK_MESSAGE(served.insert({r.method, r.path}).second, r.method << " " << r.path);
    }
    const auto doc = nlohmann::json::parse(api::openapi_document());
    CHECK(doc["openapi"].get<std::string>().starts_with("3.0"));
    std::set<std::pair<std::string, std::string>> documented;
    for (const auto& [path, item] : doc["paths"].items()) {
      for (const auto& [method, op] : item.items()) {
        std::string upper = method;
        for (char& c : upper) {
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        documented.insert({upper, path});
        CHECK_MESSAGE(op.contains("responses"), method << " " << path << " has no responses");
      }
    }
    for (const auto& r : served) {
      CHECK_MESSAGE(documented.count(r), r.first << " " << r.second << " is not in openapi.json");
    }
    for (const auto& d : documented) {
      CHECK_MESSAGE(served.count(d), d.first << " " << d.second << " is documented but not served");
    }
  }
}
