// A registry that accepts connections and never answers holds POST's early resolution for its
// whole budget once, then is left to the workers for a while.
#include "server/silent_registries.hpp"
#include "tests/unit/api_harness.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <doctest/doctest.h>
#include <httplib.h>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace oci2eif;
using server::SilentRegistries;

namespace {

// Accepts connections on 127.0.0.1 and never sends a byte; counts them.
class SilentListener {
public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0;) {
        std::lock_guard lock(mutex_);
        held_.push_back(c);
      }
    });
  }
  ~SilentListener() {
    ::shutdown(fd_, SHUT_RDWR); // ends the accept loop
    thread_.join();
    ::close(fd_);
    for (const int c : held_) {
      ::close(c);
    }
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }
  std::size_t connections() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }

private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<int> held_;
};

} // namespace

TEST_SUITE("server::SilentRegistries") {
  TEST_CASE("a silent registry is skipped for the quiet period, or until it answers") {
    SilentRegistries silent(std::chrono::seconds(30));
    const auto t0 = SilentRegistries::Clock::time_point{} + std::chrono::hours(1);
    CHECK_FALSE(silent.skip("r.example", t0));
    silent.silent("r.example", t0);
    CHECK(silent.skip("r.example", t0 + std::chrono::seconds(29)));
    CHECK_FALSE(silent.skip("other.example", t0));
    CHECK_FALSE(silent.skip("r.example", t0 + std::chrono::seconds(30)));
    silent.silent("r.example", t0);
    silent.answered("r.example");
    CHECK_FALSE(silent.skip("r.example", t0));
  }

  TEST_CASE("POST probes a silent registry once, the next POST naming it is queued unprobed") {
    SilentListener registry;
    test::ApiHarness api;
    httplib::Client client("127.0.0.1", api.port());
    client.set_read_timeout(30, 0);
    const std::string body =
        R"({"image": "127.0.0.1:)" + std::to_string(registry.port()) + R"(/silent/app:latest"})";
    const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + test::kBuildToken}};
    const auto first = client.Post("/v1/builds", auth, body, "application/json");
    REQUIRE(first);
    CHECK(first->status == 202);
    const std::size_t probed = registry.connections();
    CHECK(probed >= 1); // the early resolution tried it and timed out
    const auto second = client.Post("/v1/builds", auth, body, "application/json");
    REQUIRE(second);
    CHECK(second->status == 202);
    CHECK(registry.connections() == probed); // not asked again
    CHECK(api.store().count_queued() == 2);
  }
}
