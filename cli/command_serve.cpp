// `oci2eif serve`: wires configuration, job store, artifact store, workers and the HTTP API.
// Part of the executable (not of a library) because it is the one place that sees every layer.
#include "cli/command_serve.hpp"

#include "api/http_api.hpp"
#include "core/error.hpp"
#include "server/artifact_store.hpp"
#include "server/backends.hpp"
#include "server/build_log_store.hpp"
#include "server/build_request.hpp"
#include "server/build_runner.hpp"
#include "server/data_dir_sweep.hpp"
#include "server/disk_space.hpp"
#include "server/json_log.hpp"
#include "server/kernel_catalog.hpp"
#include "server/service_metrics.hpp"
#include "server/signing_keys.hpp"
#include "server/webhook_dedupe.hpp"
#include "server/worker_pool.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace oci2eif::cli {
namespace {

// How often the database and object store are asked whether they answer (scale-out).
constexpr std::chrono::milliseconds kDependencyCheckInterval{2000};

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
    const server::BuildRequest request = server::template_request(rules[i].build_json);
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

// Builds wait while the data directory is short of space or a dependency (database, object
// store) is down; a failing check holds them too, with its message as the reason.
server::WorkerPoolOptions worker_pool_options(const server::ServeConfig& config,
                                              const server::DependencyMonitor& monitor) {
  server::WorkerPoolOptions options;
  options.workers = config.workers;
  options.lease = config.lease;
  options.build_timeout = config.build_timeout;
  options.node = config.replica_id; // worker ids are REPLICA-wN: a lease names its replica
  options.hold = [&config, &monitor]() -> std::optional<std::string> {
    if (auto down = monitor.problem()) { // a build claimed now could not be finished
      return down;
    }
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

// Every HTTP connection holds a descriptor, and the usual soft limit (1024) would refuse
// clients long before max_connections: raise it to the hard limit, as servers commonly do.
// (httplib waits with poll(), so descriptors past FD_SETSIZE are safe.)
void raise_open_file_limit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &files) != 0) {
      spdlog::warn("cannot raise the open file limit: {}", std::strerror(errno));
    }
  }
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

// What a daemon that died left in the data directory: garbage is removed, artifacts of builds
// the database does not know are reported and kept (server/data_dir_sweep.hpp says why).
void tidy_data_dir(const server::ServeConfig& config, const server::Backends& b) {
  const server::SweepReport swept = server::sweep_crash_leftovers(config.data_dir);
  if (swept.scratch_dirs + swept.temp_files > 0) {
    spdlog::warn("removed what an earlier stop left in {}: scratch directories {}, temporary "
                 "files {}, bytes {}",
                 config.data_dir.string(), swept.scratch_dirs, swept.temp_files, swept.bytes);
  }
  if (b.shared) {
    return; // artifacts live in the object store, listed by build, not in directories here
  }
  const auto artifacts = server::embedded_artifacts_dir(config.data_dir);
  if (const auto orphans = server::orphaned_artifact_dirs(artifacts, *b.jobs); !orphans.empty()) {
    spdlog::warn("artifact directories in {} that belong to no build in the database: {} (the "
                 "first: {}); kept: remove them once nothing in them is needed",
                 artifacts.string(), orphans.size(), orphans.front());
  }
}

// Replicas often start together with their database: a server that is not up yet is waited
// for (bounded), not a reason to crash-loop. A stop signal ends the wait (the signals are blocked
// by then, so they are waited for rather than slept through).
server::Backends open_backends_patiently(const server::ServeConfig& config,
                                         const sigset_t& signals) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int attempt = 1;; ++attempt) {
    try {
      return server::open_backends(config);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Unavailable || std::chrono::steady_clock::now() > deadline) {
        throw;
      }
      spdlog::warn("{} (attempt {}); trying again in 2 s", e.what(), attempt);
      const timespec pause{2, 0};
      if (const int sig = sigtimedwait(&signals, nullptr, &pause); sig > 0) {
        throw Error(ErrorCode::Unavailable,
                    fmt::format("signal {} while waiting for the backends: {}", sig, e.what()));
      }
    }
  }
}

// Wakes the pool's idle workers when the job store says another replica added work (a NOTIFY),
// until this object goes: the store's watch outlives the pool, so the callback must not.
class WakeOnWork {
public:
  WakeOnWork(server::JobStore& store, server::WorkerPool& pool)
      : target_(std::make_shared<Target>()) {
    target_->pool = &pool;
    store.watch([target = target_] {
      std::lock_guard lock(target->mutex);
      if (target->pool != nullptr) {
        target->pool->notify();
      }
    });
  }
  ~WakeOnWork() {
    std::lock_guard lock(target_->mutex);
    target_->pool = nullptr;
  }
  WakeOnWork(const WakeOnWork&) = delete;
  WakeOnWork& operator=(const WakeOnWork&) = delete;

private:
  struct Target {
    std::mutex mutex;
    server::WorkerPool* pool = nullptr;
  };
  std::shared_ptr<Target> target_;
};

// What the API and the workers share besides the backends.
struct Service {
  server::KernelCatalog& kernels;
  const server::SigningKeys& signing_keys;
  server::BuildRunner& runner;
  const server::DependencyMonitor& monitor;
};

// Runs the workers and the API until SIGTERM/SIGINT. Those are taken by one thread (blocked
// everywhere else): it stops taking builds (the API answers 503 to POSTs but keeps serving
// reads), gives the running builds the grace period to finish, re-queues the rest (released at
// once, so the next start claims them without waiting for a lease) and then stops the API, so
// the process exits 0.
void serve_until_stopped(const server::ServeConfig& config, server::Backends& b, const Service& s,
                         const sigset_t& signals) {
  server::Metrics metrics;
  server::declare_service_metrics(metrics);
  server::WorkerPool pool(*b.jobs, timed_build(s.runner, metrics),
                          worker_pool_options(config, s.monitor));
  const WakeOnWork waker(*b.jobs, pool);
  api::HttpApi http({config, *b.jobs, *b.artifacts, s.runner, s.kernels, s.signing_keys, pool,
                     metrics, *b.logs, *b.webhook_dedupe, s.monitor});
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
  spdlog::info("oci2eif serve {} on {}:{}, data {}, {} worker(s), {} kernel(s), {}, auth {}",
               config.replica_id, config.listen_host, config.listen_port, config.data_dir.string(),
               config.workers, config.kernels.size(),
               b.shared ? "scale-out (PostgreSQL, S3)" : "embedded (SQLite)",
               config.tokens.empty() ? "off (loopback)" : "bearer tokens");
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
}

} // namespace

void run_serve(const server::ServeFlags& flags) {
  // Before any thread starts (the logger's, the database's, the dependency monitor's): a thread
  // that left SIGTERM unblocked would take it with the default action and kill the process.
  const sigset_t signals = block_stop_signals();
  server::ServeConfig config = server::load_serve_config(flags, server::oci2eif_environment());
  setup_logging(config);
  raise_open_file_limit();
  std::filesystem::create_directories(config.data_dir);
  DataDirLock lock(config.data_dir);
  server::Backends backends = open_backends_patiently(config, signals);
  if (!backends.shared) { // the sole user of its database: what was running died with us
    if (const int n = backends.jobs->requeue_all_running(); n > 0) {
      spdlog::warn("{} build(s) interrupted by a previous stop re-queued", n);
    }
  }
  tidy_data_dir(config, backends);                // before the runner and its workers use scratch/
  config.registry.shared = backends.shared_blobs; // the second level of every pull's cache
  server::KernelCatalog kernels(config.kernels, config.data_dir / "kernels",
                                backends.shared_kernels);
  const server::SigningKeys signing_keys(config.signing_keys);
  server::BuildRunner runner(config, kernels, signing_keys, *backends.artifacts, *backends.logs);
  check_webhook_templates(config, kernels, signing_keys);
  const server::DependencyMonitor monitor(backends.dependencies(), kDependencyCheckInterval);
  serve_until_stopped(config, backends, {kernels, signing_keys, runner, monitor}, signals);
  spdlog::info("stopped");
}

} // namespace oci2eif::cli
