#include "api/http_api.hpp"
#include "server/build_log_store.hpp"
#include "tests/unit/api_harness.hpp"
#include "tests/unit/job_store_requests.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <filesystem>
#include <future>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace oci2eif;

namespace {

std::size_t thread_count() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<std::size_t>(std::distance(begin(tasks), end(tasks)));
}

} // namespace

TEST_SUITE("api::http_api") {
  TEST_CASE("http api: a stop() before run() begins makes run() return instead of serving") {
    // The shape of a SIGTERM during start-up, or a harness torn down at once: httplib's own
    // stop() is a no-op until it listens, which left run() serving forever.
    test::ApiHarness api(test::ApiHarness::Serving::No);
    api.http().stop();
    auto running = std::async(std::launch::async, [&api] { api.http().run(); });
    const bool returned = running.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    if (!returned) {
      api.http().stop(); // it serves now, so this one takes; lets the case end
    }
    CHECK(returned);
  }

  TEST_CASE("http api: DELETE of an ended build removes its artifacts, log and scratch leftovers") {
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    const httplib::Headers build_token = {
        {"Authorization", std::string("Bearer ") + test::kBuildToken}};
    auto posted = client.Post("/v1/builds", build_token, R"({"image":")" + api.image() + R"("})",
                              "application/json");
    REQUIRE(posted);
    REQUIRE(posted->status == 202);
    const std::string id = nlohmann::json::parse(posted->body)["id"];
    // What a crashed run (or a replica's takeover) leaves behind for this build.
    const std::filesystem::path scratch = api.data_dir() / "scratch" / id;
    std::filesystem::create_directories(scratch / "source");
    test::write_file(scratch / "content.spool", Bytes(1000, 0x61));
    api.logs().append(id, "attempt 1\n");
    REQUIRE(api.finish_next({}, {{"image.eif", "EIF"}}) == id);

    auto deleted = client.Delete("/v1/builds/" + id, build_token);
    REQUIRE(deleted);
    CHECK(deleted->status == 204);
    CHECK_FALSE(std::filesystem::exists(scratch));
    CHECK(api.logs().read(id, 0, 100).empty());
    auto artifact = client.Get("/v1/builds/" + id + "/artifacts/image.eif", build_token);
    REQUIRE(artifact);
    CHECK(artifact->status == 404);
    CHECK(std::filesystem::exists(api.data_dir() / "scratch")); // only that build's part goes
  }

  TEST_CASE("http api: push is accepted only to the operator's push_targets, and identifies") {
    test::ApiHarness api(test::ApiHarness::Serving::Yes, [](server::ServeConfig& c) {
      c.push_targets = {"registry.example:5000/team/*"};
    });
    httplib::Client client("127.0.0.1", api.port());
    const httplib::Headers build_token = {
        {"Authorization", std::string("Bearer ") + test::kBuildToken}};
    const auto post = [&](const std::string& push) {
      return client.Post("/v1/builds", build_token,
                         R"({"image":")" + api.image() + R"(","push":")" + push + R"("})",
                         "application/json");
    };
    auto refused = post("registry.example:5000/elsewhere/app:eif");
    REQUIRE(refused);
    CHECK(refused->status == 400);
    CHECK(refused->body.find("registry.example:5000/elsewhere/app is not among this service's "
                             "push_targets") != std::string::npos);
    CHECK(api.store().count_queued() == 0);
    auto first = post("registry.example:5000/team/app:eif");
    auto second = post("registry.example:5000/team/app:other-eif");
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->status == 202);
    CHECK(second->status == 202);
    // Another push target is another build: each must push where it was asked to.
    CHECK(nlohmann::json::parse(first->body)["id"] != nlohmann::json::parse(second->body)["id"]);
    CHECK(api.store().count_queued() == 2);
  }

  TEST_CASE("http api: a log follower that disconnects frees its slot at once") {
    test::ApiHarness api;
    const std::string id = api.store().enqueue(test::request("img")).id; // stays queued
    const std::string follow = "GET /v1/builds/" + id + "/log?follow=1&timeout=600 HTTP/1.1\r\n" +
                               "Host: t\r\nAuthorization: Bearer " + test::kReadToken + "\r\n\r\n";
    for (int i = 0; i < 4; ++i) { // the most followers at once; each leaves after the headers
      const int fd = api.connect();
      CHECK(::send(fd, follow.data(), follow.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(follow.size()));
      char head[64];
      CHECK(::recv(fd, head, sizeof head, 0) > 0);
      ::close(fd);
    }
    // Before, each slot stayed taken for the follow's 600 s: a fifth follower got 429.
    std::string reply;
    for (int attempt = 0; attempt < 20; ++attempt) {
      reply =
          api.raw("GET /v1/builds/" + id + "/log?follow=1&timeout=1 HTTP/1.1\r\nHost: t\r\n" +
                  "Authorization: Bearer " + test::kReadToken + "\r\nConnection: close\r\n\r\n");
      if (reply.rfind("HTTP/1.1 429", 0) != 0) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
  }

  TEST_CASE("http api: idle and slowloris connections do not hold up a probe") {
    // httplib's pool had 8 threads: this many silent or dribbling clients (no token needed)
    // left a probe waiting behind them for tens of seconds, past raw()'s 5 s.
    test::ApiHarness api;
    std::vector<int> held;
    for (int i = 0; i < 64; ++i) {
      held.push_back(api.connect()); // idle: connected, never a byte
    }
    const std::string part = "GET /healthz HTTP/1.1\r\nHo";
    for (int i = 0; i < 16; ++i) {
      held.push_back(api.connect()); // slowloris: a request begun, never finished
      CHECK(::send(held.back(), part.data(), part.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(part.size()));
    }
    const std::string reply =
        api.raw("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
    for (const int fd : held) {
      ::close(fd);
    }
  }

  TEST_CASE("http api: a connection that sends nothing takes no thread") {
    // httplib waits for a first request by polling every 10 ms: each accepted idle connection
    // was a thread and 100 wake-ups a second. The kernel now holds it until its first byte.
    test::ApiHarness api;
    const std::size_t before = thread_count();
    std::vector<int> held;
    for (int i = 0; i < 32; ++i) {
      held.push_back(api.connect());
    }
    std::size_t most = before;
    for (int i = 0; i < 10; ++i) { // 500 ms: an accepted connection has its thread by then
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      most = std::max(most, thread_count());
    }
    CHECK(most < before + 4);
    const std::string part = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    CHECK(::send(held.front(), part.data(), part.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(part.size()));
    char head[16] = {};
    CHECK(::recv(held.front(), head, sizeof head - 1, MSG_WAITALL) == sizeof head - 1);
    CHECK(std::string(head).rfind("HTTP/1.1 200", 0) == 0); // speaking, it is served at once
    for (const int fd : held) {
      ::close(fd);
    }
  }
}
