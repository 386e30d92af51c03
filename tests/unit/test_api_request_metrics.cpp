// /metrics over HTTP: requests by route, method and status with their durations, the build
// info, the process metrics, and the option to put /metrics behind a token.
#include "pipeline/version.hpp"
#include "tests/unit/api_harness.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <string>

using namespace oci2eif;

namespace {

std::string request(const test::ApiHarness& api, const std::string& line,
                    const std::string& token = "") {
  return api.raw(line + " HTTP/1.1\r\nHost: t\r\n" +
                 (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
                 "Connection: close\r\n\r\n");
}

// The value of the sample line that starts with `series` ("name{labels}"), or -1.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

} // namespace

TEST_SUITE("api::request_metrics") {
  TEST_CASE("request metrics: answered requests are counted by route, method and status") {
    test::ApiHarness api;
    request(api, "GET /healthz");
    request(api, "GET /healthz");
    request(api, "GET /no/such/path");
    request(api, "GET /v1/builds/b-nosuch", test::kReadToken);
    request(api, "FROBNICATE /healthz");
    const std::string text = request(api, "GET /metrics");
    CHECK(sample(text,
                 R"(oci2eif_http_requests_total{code="200",method="GET",route="/healthz"})") == 2);
    CHECK(sample(text, R"(oci2eif_http_requests_total{code="404",method="GET",route="other"})") ==
          1);
    CHECK(
        sample(text,
               R"(oci2eif_http_requests_total{code="404",method="GET",route="/v1/builds/{id}"})") ==
        1);
    // A made-up method is no series of its own (httplib refuses it before routing: 400).
    CHECK(text.find("FROBNICATE") == std::string::npos);
    CHECK(sample(text, R"(oci2eif_http_requests_total{code="400",method="other",route="other"})") ==
          1);
    CHECK(sample(text,
                 R"(oci2eif_http_request_duration_seconds_count{method="GET",route="/healthz"})") ==
          2);
    CHECK(
        sample(
            text,
            R"(oci2eif_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"})") ==
        2);
  }

  TEST_CASE("request metrics: the build info and the process metrics are exported") {
    test::ApiHarness api;
    const std::string text = request(api, "GET /metrics");
    CHECK(sample(text, std::string("oci2eif_build_info{version=\"") + pipeline::kVersion + "\"}") ==
          1);
    CHECK(sample(text, "process_resident_memory_bytes") > 1 << 20);
    CHECK(sample(text, "process_virtual_memory_bytes") >=
          sample(text, "process_resident_memory_bytes"));
    CHECK(sample(text, "process_open_fds") >= 3);
    CHECK(sample(text, "process_max_fds") >= sample(text, "process_open_fds"));
    CHECK(sample(text, "process_threads") >= 2);
    CHECK(sample(text, "process_cpu_seconds_total") >= 0);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double started = sample(text, "process_start_time_seconds");
    CHECK(started <= now + 1);
    CHECK(started > now - 24 * 3600); // this test process began today
  }

  TEST_CASE("request metrics: with metrics_require_token, /metrics needs a token") {
    test::ApiHarness api(test::ApiHarness::Serving::Yes,
                         [](server::ServeConfig& c) { c.metrics_require_token = true; });
    const std::string refused = request(api, "GET /metrics");
    CHECK(refused.rfind("HTTP/1.1 401", 0) == 0);
    CHECK(refused.find("WWW-Authenticate: Bearer") != std::string::npos);
    CHECK(request(api, "GET /metrics", test::kReadToken).rfind("HTTP/1.1 200", 0) == 0);
    CHECK(request(api, "GET /healthz").rfind("HTTP/1.1 200", 0) == 0); // the probes stay open
  }
}
