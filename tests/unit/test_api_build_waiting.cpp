// Waiting for a build over HTTP: GET /v1/builds/{id}?wait= (a long poll) and the outcome line
// that ends a followed log. Builds end here by being cancelled while queued (no workers run).
#include "tests/unit/api_harness.hpp"
#include "tests/unit/job_store_requests.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <future>
#include <string>
#include <thread>

using namespace oci2eif;

namespace {

std::string get(const test::ApiHarness& api, const std::string& target) {
  return api.raw("GET " + target + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                 test::kReadToken + "\r\nConnection: close\r\n\r\n");
}

// Cancels queued build `id` after `delay`, while a request waits for it.
std::future<void> cancel_later(test::ApiHarness& api, const std::string& id,
                               std::chrono::milliseconds delay) {
  return std::async(std::launch::async, [&api, id, delay] {
    std::this_thread::sleep_for(delay);
    api.store().cancel(id);
  });
}

} // namespace

TEST_SUITE("api::build_waiting") {
  TEST_CASE("build waiting: GET with wait answers once the build has ended") {
    test::ApiHarness api;
    const std::string id = api.store().enqueue(test::request("img")).id;
    auto cancelled = cancel_later(api, id, std::chrono::milliseconds(600));
    // Cancelled 600 ms after the request: only a request that waited can report it.
    const std::string reply = get(api, "/v1/builds/" + id + "?wait=30");
    cancelled.get();
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(reply.find("\"state\":\"cancelled\"") != std::string::npos);
  }

  TEST_CASE("build waiting: GET with wait answers the unfinished build when the time passes") {
    test::ApiHarness api;
    const std::string id = api.store().enqueue(test::request("img")).id;
    const std::string reply = get(api, "/v1/builds/" + id + "?wait=1");
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(reply.find("\"state\":\"queued\"") != std::string::npos);
  }

  TEST_CASE("build waiting: wait=0 answers at once, and a wait out of range is refused") {
    test::ApiHarness api;
    const std::string id = api.store().enqueue(test::request("img")).id;
    CHECK(get(api, "/v1/builds/" + id + "?wait=0").find("\"state\":\"queued\"") !=
          std::string::npos);
    for (const char* bad : {"601", "-1", "1.5", "x", ""}) {
      CAPTURE(bad);
      const std::string reply = get(api, "/v1/builds/" + id + "?wait=" + bad);
      CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
      CHECK(reply.find("query 'wait'") != std::string::npos);
    }
    CHECK(get(api, "/v1/builds/nosuch?wait=5").rfind("HTTP/1.1 404", 0) == 0);
  }

  TEST_CASE("build waiting: a followed log ends with a line that says the outcome") {
    test::ApiHarness api;
    const std::string id = api.store().enqueue(test::request("img")).id;
    auto cancelled = cancel_later(api, id, std::chrono::milliseconds(400));
    const std::string reply = get(api, "/v1/builds/" + id + "/log?follow=1&timeout=30");
    cancelled.get();
    // Chunked: the line is the last chunk's data, then the terminating zero-length chunk.
    CHECK(reply.find("\r\nbuild=" + id + " state=cancelled error_code=cancelled\n\r\n0\r\n\r\n") !=
          std::string::npos);
  }

  TEST_CASE("build waiting: a follow that times out says so in its last line") {
    test::ApiHarness api;
    const std::string id = api.store().enqueue(test::request("img")).id;
    const std::string reply = get(api, "/v1/builds/" + id + "/log?follow=1&timeout=1");
    CHECK(reply.find("\r\nbuild=" + id + " state=queued follow=timed_out\n\r\n0\r\n\r\n") !=
          std::string::npos);
  }
}
