#include "server/metrics.hpp"
#include "server/service_metrics.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace oci2eif::server;

TEST_SUITE("server::metrics") {
  TEST_CASE("metrics: counters and gauges render with HELP, TYPE and sorted, escaped labels") {
    Metrics m;
    m.declare_counter("oci2eif_webhook_deliveries_total", "Webhook deliveries.");
    m.declare_gauge("oci2eif_queue_depth", "Queued builds.");
    m.add("oci2eif_webhook_deliveries_total", {{"source", "github"}, {"outcome", "queued"}});
    m.add("oci2eif_webhook_deliveries_total", {{"source", "github"}, {"outcome", "queued"}}, 2);
    m.add("oci2eif_webhook_deliveries_total", {{"source", "a\"b\\c\nd"}, {"outcome", "x"}});
    m.set("oci2eif_queue_depth", {}, 3);
    const std::string text = m.render();
    CHECK(text.find("# HELP oci2eif_queue_depth Queued builds.\n"
                    "# TYPE oci2eif_queue_depth gauge\n"
                    "oci2eif_queue_depth 3\n") != std::string::npos);
    CHECK(text.find("# TYPE oci2eif_webhook_deliveries_total counter\n") != std::string::npos);
    CHECK(text.find("oci2eif_webhook_deliveries_total{outcome=\"queued\",source=\"github\"} 3\n") !=
          std::string::npos);
    CHECK(text.find(R"(oci2eif_webhook_deliveries_total{outcome="x",source="a\"b\\c\nd"} 1)") !=
          std::string::npos);
    CHECK(m.value("oci2eif_webhook_deliveries_total",
                  {{"outcome", "queued"}, {"source", "github"}}) == 3);
  }

  TEST_CASE("metrics: a histogram renders cumulative buckets, +Inf, sum and count") {
    Metrics m;
    m.declare_histogram("oci2eif_build_duration_seconds", "Build time.", {1, 10, 60});
    for (const double v : {0.5, 1.0, 5.0, 100.0}) {
      m.observe("oci2eif_build_duration_seconds", {{"state", "succeeded"}}, v);
    }
    const std::string text = m.render();
    CHECK(text.find("# TYPE oci2eif_build_duration_seconds histogram\n"
                    "oci2eif_build_duration_seconds_bucket{state=\"succeeded\",le=\"1\"} 2\n"
                    "oci2eif_build_duration_seconds_bucket{state=\"succeeded\",le=\"10\"} 3\n"
                    "oci2eif_build_duration_seconds_bucket{state=\"succeeded\",le=\"60\"} 3\n"
                    "oci2eif_build_duration_seconds_bucket{state=\"succeeded\",le=\"+Inf\"} 4\n"
                    "oci2eif_build_duration_seconds_sum{state=\"succeeded\"} 106.5\n"
                    "oci2eif_build_duration_seconds_count{state=\"succeeded\"} 4\n") !=
          std::string::npos);
  }

  TEST_CASE("metrics: a declared family without samples still has HELP and TYPE") {
    Metrics m;
    m.declare_histogram("h_seconds", "H.", {0.5});
    CHECK(m.render() == "# HELP h_seconds H.\n# TYPE h_seconds histogram\n");
  }

  TEST_CASE("metrics: misuse is refused") {
    Metrics m;
    m.declare_counter("c_total", "C.");
    CHECK_THROWS_AS(m.declare_gauge("c_total", "again"), std::invalid_argument);
    CHECK_THROWS_AS(m.declare_counter("0bad", "bad name"), std::invalid_argument);
    CHECK_THROWS_AS(m.declare_histogram("h", "unsorted", {2, 1}), std::invalid_argument);
    CHECK_THROWS_AS(m.set("c_total", {}, 1), std::invalid_argument);
    CHECK_THROWS_AS(m.add("nope_total", {}), std::invalid_argument);
    CHECK_THROWS_AS(m.add("c_total", {}, -1), std::invalid_argument);
  }

  TEST_CASE("metrics: concurrent updates are all counted") {
    Metrics m;
    m.declare_counter("c_total", "C.");
    m.declare_histogram("h", "H.", {1});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 1000; ++i) {
          m.add("c_total", {{"k", "v"}});
          m.observe("h", {}, 0.5);
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(m.value("c_total", {{"k", "v"}}) == 4000);
    CHECK(m.render().find("h_count 4000\n") != std::string::npos);
  }

  TEST_CASE("metrics: numbers use Prometheus spelling") {
    CHECK(metric_number(3) == "3");
    CHECK(metric_number(0.25) == "0.25");
    CHECK(metric_number(std::numeric_limits<double>::infinity()) == "+Inf");
  }

  TEST_CASE("metrics: a counter raised to a total kept elsewhere never goes down") {
    Metrics m;
    m.declare_counter("oci2eif_registry_bytes_pulled_total", "Bytes.");
    m.raise_to("oci2eif_registry_bytes_pulled_total", {}, 100);
    m.raise_to("oci2eif_registry_bytes_pulled_total", {}, 40); // a scrape that read it earlier
    CHECK(m.value("oci2eif_registry_bytes_pulled_total", {}) == 100);
    m.raise_to("oci2eif_registry_bytes_pulled_total", {}, 250);
    CHECK(m.render().find("oci2eif_registry_bytes_pulled_total 250\n") != std::string::npos);
    m.declare_gauge("g", "A gauge.");
    CHECK_THROWS_AS(m.raise_to("g", {}, 1), std::invalid_argument);
  }

  TEST_CASE("service metrics: the registry counters appear as counters, zero before any pull") {
    Metrics m;
    declare_service_metrics(m);
    oci2eif::registry::PullCounters counters;
    refresh_registry_metrics(m, counters);
    const std::string empty = m.render();
    for (const char* line :
         {"# TYPE oci2eif_registry_bytes_pulled_total counter\n",
          "oci2eif_registry_bytes_pulled_total 0\n",
          "# TYPE oci2eif_blob_cache_hits_total counter\n", "oci2eif_blob_cache_hits_total 0\n",
          "# TYPE oci2eif_blob_cache_misses_total counter\n",
          "oci2eif_blob_cache_misses_total 0\n"}) {
      CHECK_MESSAGE(empty.find(line) != std::string::npos, line);
    }
    counters.bytes_pulled += 12345;
    counters.cache_hits += 2;
    counters.cache_misses += 3;
    refresh_registry_metrics(m, counters);
    CHECK(m.value(kMetricRegistryBytesPulled, {}) == 12345);
    CHECK(m.value(kMetricBlobCacheHits, {}) == 2);
    CHECK(m.value(kMetricBlobCacheMisses, {}) == 3);
  }

  TEST_CASE(
      "service metrics: queue depth and the oldest queued build's age, replica, dependencies") {
    oci2eif::test::TempDir dir;
    std::int64_t now = 10'000;
    auto store = open_sqlite_job_store((dir / "jobs.db").string(), [&] { return now; });
    Metrics m;
    declare_service_metrics(m);
    refresh_store_metrics(m, *store, 0, now);
    CHECK(m.value(kMetricQueueDepth, {}) == 0);
    CHECK(m.value(kMetricQueueOldestAge, {}) == 0); // nothing waits
    NewBuild b;
    b.request_json = R"({"image":"a"})";
    b.image = "a";
    store->enqueue(b); // at 10 s
    now = 12'500;
    b.input_key = "sha256:other";
    store->enqueue(b); // at 12.5 s
    refresh_store_metrics(m, *store, 1, 17'500);
    CHECK(m.value(kMetricQueueDepth, {}) == 2);
    CHECK(m.value(kMetricQueueOldestAge, {}) == doctest::Approx(7.5)); // the first one's wait
    CHECK(m.value(kMetricWorkersBusy, {}) == 1);
    refresh_replica_metrics(m, "r-1", {{"database", true}, {"object store", false}});
    const std::string text = m.render();
    CHECK(text.find("oci2eif_replica_info{replica=\"r-1\"} 1\n") != std::string::npos);
    CHECK(text.find("oci2eif_dependency_up{dependency=\"object store\"} 0\n") != std::string::npos);
    CHECK(text.find("oci2eif_dependency_up{dependency=\"database\"} 1\n") != std::string::npos);
  }
}
