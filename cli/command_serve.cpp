// `oci2eif serve`: wires configuration, job store, artifact store, workers and the HTTP API.
// Part of the executable (not of a library) because it is the one place that sees every layer.
#include "cli/command_serve.hpp"

#include "api/http_api.hpp"
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "server/build_log_store.hpp"
#include "server/build_request.hpp"
#include "server/build_runner.hpp"
#include "server/disk_space.hpp"
#include "server/json_log.hpp"
#include "server/kernel_catalog.hpp"
#include "server/service_metrics.hpp"
#include "server/signing_keys.hpp"
#include "server/webhook_dedupe.hpp"
#include "server/worker_pool.hpp"

#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace oci2eif::cli {
namespace {

// Holds an exclusive lock on DATA_DIR/lock for the life of the process: the embedded store
// has one daemon per data directory, which is what makes requeue_all_running() at start safe.
class DataDirLock {
public:
  explicit DataDirLock(const std::filesystem::path& dir) {
    const auto path = dir / "lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      throw_errno("cannot open " + path.string());
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(ErrorCode::InvalidInput,
                  "another oci2eif serve is using the data directory " + dir.string());
    }
  }
  ~DataDirLock() { ::close(fd_); }
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

private:
  int fd_ = -1;
};

// Webhook rules name kernels and signing keys that only the loaded catalog knows: a typo there
// would otherwise surface as a failed build on the first push.
void check_webhook_templates(const server::ServeConfig& config,
                             const server::KernelCatalog& kernels,
                             const server::SigningKeys& signing_keys) {
  const auto& rules = config.webhooks.rules;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    nlohmann::json probe = nlohmann::json::parse(rules[i].build_json);
    probe["image"] = "docker.io/library/template-check:latest";
    const server::BuildRequest request = server::parse_build_request(probe.dump());
    const std::string where = "configuration: webhooks.rules[" + std::to_string(i) + "].build: ";
    const std::string kernel = request.kernel.value_or(kernels.default_name());
    if (kernel.empty() || !kernels.contains(kernel)) {
      throw Error(ErrorCode::InvalidInput,
                  where + (kernel.empty() ? "no kernel is configured (--kernel-dir NAME=DIR)"
                                          : "kernel '" + kernel + "' is not configured"));
    }
    try {
      signing_keys.identity(request);
    } catch (const Error& e) {
      throw Error(ErrorCode::InvalidInput, where + e.what());
    }
  }
}

void setup_logging(const server::ServeConfig& c) {
  if (c.log_format == "json") {
    server::use_json_log_format();
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
}

// Builds wait while the data directory is short of space; a failing check holds them too,
// with its message as the reason.
server::WorkerPoolOptions worker_pool_options(const server::ServeConfig& config) {
  server::WorkerPoolOptions options;
  options.workers = config.workers;
  options.lease = config.lease;
  options.build_timeout = config.build_timeout;
  options.node = config.replica_id; // worker ids are REPLICA-wN: a lease names its replica
  options.hold = [&config]() -> std::optional<std::string> {
    try {
      return server::check_free_space(config.data_dir, config.min_free_bytes);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  return options;
}

// The runner, with each build's duration recorded by its final state.
server::RunBuild timed_build(server::BuildRunner& runner, server::Metrics& metrics) {
  return [&runner, &metrics](const server::BuildRecord& b, const Interrupt& stop) {
    const auto started = std::chrono::steady_clock::now();
    server::BuildOutcome outcome = runner.run(b, stop);
    metrics.observe(
        server::kMetricBuildDuration,
        {{"state", std::string(server::build_state_name(outcome.state))}},
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return outcome;
  };
}

// Blocks SIGTERM/SIGINT in the calling thread (and so in every thread it starts later), leaving
// them to the one thread that sigwait()s for them.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// The shutdown sequence, run by the signal thread once a stop signal arrives.
void drain_and_stop(int sig, const server::ServeConfig& config, api::HttpApi& http,
                    server::WorkerPool& pool) {
  spdlog::info("signal {}: stopping; running builds have {} s to finish", sig,
               config.shutdown_grace.count());
  http.drain();
  const int released = pool.drain(config.shutdown_grace);
  if (released > 0) {
    spdlog::warn("{} build(s) stopped by the shutdown and re-queued", released);
  }
  http.stop();
}

} // namespace

void run_serve(const server::ServeFlags& flags) {
  const server::ServeConfig config =
      server::load_serve_config(flags, server::oci2eif_environment());
  setup_logging(config);
  std::filesystem::create_directories(config.data_dir);
  DataDirLock lock(config.data_dir);
  auto store =
      server::open_sqlite_job_store((config.data_dir / "jobs.db").string(), server::system_clock());
  if (const int n = store->requeue_all_running(); n > 0) {
    spdlog::warn("{} build(s) interrupted by a previous stop re-queued", n);
  }
  // The embedded backends; a scale-out deployment would choose others here.
  const auto artifacts = server::open_directory_artifact_store(config.data_dir / "artifacts");
  const auto logs = server::open_directory_build_log_store(config.data_dir / "logs");
  const auto webhook_dedupe =
      server::open_sqlite_webhook_dedupe((config.data_dir / "jobs.db").string(),
                                         server::system_clock(), config.webhooks.dedupe_window);
  server::KernelCatalog kernels(config.kernels, config.data_dir / "kernels");
  const server::SigningKeys signing_keys(config.signing_keys);
  server::BuildRunner runner(config, kernels, signing_keys, *artifacts, *logs);
  check_webhook_templates(config, kernels, signing_keys);

  server::Metrics metrics;
  server::declare_service_metrics(metrics);

  server::WorkerPool pool(*store, timed_build(runner, metrics), worker_pool_options(config));
  api::HttpApi http({config, *store, *artifacts, runner, kernels, signing_keys, pool, metrics,
                     *logs, *webhook_dedupe});

  // SIGTERM/SIGINT are taken by one thread (blocked everywhere else): it stops taking builds
  // (the API answers 503 to POSTs but keeps serving reads), gives the running builds the grace
  // period to finish, re-queues the rest (released at once, so the next start claims them
  // without waiting for a lease) and then stops the API, so the process exits 0.
  const sigset_t signals = block_stop_signals();
  std::atomic<bool> run_failed{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (run_failed) { // woken by the catch below: nothing to drain
      return;
    }
    drain_and_stop(sig, config, http, pool);
  });

  pool.start();
  spdlog::info("oci2eif serve on {}:{}, data {}, {} worker(s), {} kernel(s), auth {}",
               config.listen_host, config.listen_port, config.data_dir.string(), config.workers,
               config.kernels.size(), config.tokens.empty() ? "off (loopback)" : "bearer tokens");
  try {
    http.run();
  } catch (...) {
    run_failed = true;
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    throw;
  }
  waiter.join();
  pool.stop();
  spdlog::info("stopped");
}

} // namespace oci2eif::cli
