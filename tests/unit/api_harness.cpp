#include "tests/unit/api_harness.hpp"

#include "server/service_metrics.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oci2eif::test {

ApiHarness::ApiHarness(Serving serving,
                       const std::function<void(server::ServeConfig&)>& configure) {
  config_.data_dir = dir_.path();
  config_.listen_port = reserved_port();
  std::filesystem::create_directories(dir_ / "kernel");
  write_file(dir_ / "kernel" / "bzImage", as_bytes("not a kernel: no build runs here"));
  write_file(dir_ / "kernel" / "bzImage.config", as_bytes("CONFIG_X=y\n"));
  config_.kernels = {{"test", dir_ / "kernel"}};
  std::filesystem::create_directories(dir_ / "images" / "x");
  config_.local_images = {std::filesystem::canonical(dir_ / "images")};
  config_.tokens = {{"reader", kReadToken, server::Role::Read},
                    {"ci", kBuildToken, server::Role::Build},
                    {"ops", kAdminToken, server::Role::Admin}};
  if (configure) {
    configure(config_);
  }
  store_ = server::open_sqlite_job_store((dir_ / "jobs.db").string(), server::system_clock());
  artifacts_ = server::open_directory_artifact_store(dir_ / "artifacts");
  kernels_ = std::make_unique<server::KernelCatalog>(config_.kernels, dir_ / "kernels");
  signing_keys_ = std::make_unique<server::SigningKeys>(config_.signing_keys);
  logs_ = server::open_directory_build_log_store(dir_ / "logs");
  dedupe_ = server::open_sqlite_webhook_dedupe((dir_ / "jobs.db").string(), server::system_clock(),
                                               std::chrono::seconds(60));
  runner_ = std::make_unique<server::BuildRunner>(config_, *kernels_, *signing_keys_, *artifacts_,
                                                  *logs_);
  pool_ = std::make_unique<server::WorkerPool>(
      *store_, [](const server::BuildRecord&, const Interrupt&) { return server::BuildOutcome{}; },
      server::WorkerPoolOptions{});
  metrics_ = std::make_unique<server::Metrics>();
  server::declare_service_metrics(*metrics_);
  dependencies_ = std::make_unique<server::DependencyMonitor>(
      std::vector<server::Dependency>{}, std::chrono::hours(1)); // embedded: nothing to watch
  http_ = std::make_unique<api::HttpApi>(
      api::ApiContext{config_, *store_, *artifacts_, *runner_, *kernels_, *signing_keys_, *pool_,
                      *metrics_, *logs_, *dedupe_, *dependencies_});
  port_ = http_->bind();
  if (serving == Serving::Yes) {
    thread_ = std::thread([this] { http_->run(); });
  }
}

ApiHarness::~ApiHarness() {
  http_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string ApiHarness::image() const {
  return "oci-layout:" + (config_.local_images.front() / "x").string() + ":latest";
}

std::string ApiHarness::succeeded_build(const std::string& eif) {
  const auto added = store_->enqueue(
      {R"({"image":"oci-layout:/x:latest"})", "oci-layout:/x:latest", {}, std::nullopt, "", ""});
  const auto claimed = store_->claim("test-worker", std::chrono::minutes(1));
  REQUIRE(claimed);
  REQUIRE(claimed->id == added.id);
  server::BuildOutcome outcome;
  outcome.state = server::BuildState::Succeeded;
  outcome.artifacts = {artifacts_->publish(added.id, "image.eif", eif)};
  REQUIRE(store_->finish(added.id, "test-worker", outcome));
  return added.id;
}

std::string ApiHarness::finish_next(server::BuildOutcome outcome,
                                    const std::map<std::string, std::string>& artifacts) {
  const auto claimed = store_->claim("test-worker", std::chrono::minutes(1));
  if (!claimed) {
    return "";
  }
  for (const auto& [name, bytes] : artifacts) {
    outcome.artifacts.push_back(artifacts_->publish(claimed->id, name, bytes));
  }
  REQUIRE(store_->finish(claimed->id, "test-worker", outcome));
  return claimed->id;
}

int ApiHarness::connect() const {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  CHECK(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

std::string ApiHarness::raw(const std::string& request) const {
  const int fd = connect();
  std::string out;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

} // namespace oci2eif::test
