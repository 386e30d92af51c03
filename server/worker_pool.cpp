#include "server/worker_pool.hpp"

#include "core/error.hpp"
#include "server/log_context.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

namespace oci2eif::server {
namespace {

// A build's file list is many small allocations on its worker thread's malloc arena; glibc keeps
// such memory once freed (only the top of the main heap shrinks by itself), so a daemon that
// built one image of a million entries held 889 MiB afterwards. malloc_trim returns the free
// pages of every arena to the system.
void return_freed_memory() {
  ::malloc_trim(0);
}

} // namespace

WorkerPool::WorkerPool(JobStore& store, RunBuild run, WorkerPoolOptions options)
    : store_(store), run_(std::move(run)), options_(std::move(options)) {
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::start() {
  for (unsigned i = 0; i < options_.workers; ++i) {
    const std::string worker = options_.node + "-w" + std::to_string(i);
    threads_.emplace_back([this, worker] { work(worker); });
  }
  threads_.emplace_back([this] { heartbeat(); });
}

void WorkerPool::notify() {
  {
    std::lock_guard lock(mutex_);
    ++wakeups_;
  }
  wake_.notify_all();
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, a] : active_) {
      a->shutdown = true;
    }
  }
  wake_.notify_all();
  beat_.notify_all();
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
}

int WorkerPool::drain(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mutex_);
    draining_ = true;
    if (!idle_.wait_for(lock, grace, [&] { return active_.empty(); })) {
      spdlog::warn("{} build(s) still running after the shutdown grace period of {} s; "
                   "stopping and re-queueing them",
                   active_.size(), grace.count() / 1000);
    }
  }
  stop();
  return released_.load();
}

std::size_t WorkerPool::running() const {
  std::lock_guard lock(mutex_);
  return active_.size();
}

bool WorkerPool::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto it = active_.find(id);
  if (it == active_.end()) {
    return false;
  }
  it->second->cancelled = true;
  return true;
}

void WorkerPool::work(const std::string& worker) {
  for (;;) {
    std::uint64_t seen = 0; // a notify() from now on ends the idle wait below
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || draining_) {
        return;
      }
      seen = wakeups_;
    }
    std::optional<BuildRecord> build;
    try {
      if (!held()) {
        build = store_.claim(worker, options_.lease);
      }
    } catch (const std::exception& e) {
      spdlog::error("{}: cannot claim a build: {}", worker, e.what());
    }
    if (build) {
      run_one(worker, *build);
      continue;
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.idle_poll, [&] { return stopping_ || wakeups_ != seen; });
  }
}

bool WorkerPool::held() {
  std::optional<std::string> reason;
  if (options_.hold) {
    reason = options_.hold();
  }
  std::lock_guard lock(mutex_);
  if (reason && !holding_) {
    spdlog::warn("workers take no builds while {}", *reason);
  } else if (!reason && holding_) {
    spdlog::info("workers take builds again");
  }
  holding_ = reason.has_value();
  return holding_;
}

void WorkerPool::run_one(const std::string& worker, const BuildRecord& build) {
  auto active = std::make_shared<Active>();
  active->worker = worker;
  active->deadline = std::chrono::steady_clock::now() + options_.build_timeout;
  {
    std::lock_guard lock(mutex_);
    active_[build.id] = active;
    // Claimed just as stop() began: stop at the first step and go back to the queue.
    active->shutdown = stopping_;
  }
  const ScopedLogField build_field("build", build.id); // on this thread's lines (JSON logs)
  spdlog::info("{}: build {} started (attempt {})", worker, build.id, build.attempts);
  const auto stop_check = [&] { check_stop(*active); };
  const BuildOutcome outcome = run_(build, stop_check);
  return_freed_memory();
  // Stopped by the shutdown (not failed, not cancelled on request): back to the queue.
  if (active->shutdown && outcome.state == BuildState::Cancelled && !active->cancelled) {
    requeue(worker, build.id);
    forget(build.id);
    return;
  }
  forget(build.id);
  if (active->lost) {
    spdlog::warn("{}: build {} abandoned; it will be claimed again", worker, build.id);
    return;
  }
  record_outcome(worker, build, outcome);
}

void WorkerPool::check_stop(const Active& active) const {
  if (active.shutdown) {
    throw Error(ErrorCode::Cancelled, "the service is shutting down; the build is re-queued");
  }
  if (active.lost) {
    throw Error(ErrorCode::Cancelled, "the worker lost its lease on the build (shutdown, or "
                                      "it was claimed by another worker)");
  }
  if (active.cancelled) {
    throw Error(ErrorCode::Cancelled, "cancelled on request");
  }
  if (std::chrono::steady_clock::now() > active.deadline) {
    throw Error(ErrorCode::Timeout, "the build took longer than its timeout of " +
                                        std::to_string(options_.build_timeout.count() / 1000) +
                                        " s");
  }
}

void WorkerPool::requeue(const std::string& worker, const std::string& id) {
  try {
    if (store_.release(id, worker)) {
      ++released_;
      spdlog::warn("{}: build {} stopped by the shutdown; re-queued", worker, id);
    }
  } catch (const std::exception& e) {
    spdlog::error("{}: cannot re-queue build {}: {}", worker, id, e.what());
  }
}

void WorkerPool::record_outcome(const std::string& worker, const BuildRecord& build,
                                const BuildOutcome& outcome) {
  try {
    if (!store_.finish(build.id, worker, outcome)) {
      spdlog::warn("{}: build {} was taken over by another worker; result dropped", worker,
                   build.id);
      return;
    }
  } catch (const std::exception& e) {
    spdlog::error("{}: cannot record the end of build {}: {}", worker, build.id, e.what());
    return;
  }
  spdlog::info("{}: build {} {}{}", worker, build.id, build_state_name(outcome.state),
               outcome.error_message.empty() ? "" : ": " + outcome.error_message);
}

void WorkerPool::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  active_.erase(id);
  if (active_.empty()) {
    idle_.notify_all();
  }
}

void WorkerPool::heartbeat() {
  for (;;) {
    std::vector<std::pair<std::string, std::shared_ptr<Active>>> snapshot;
    {
      std::unique_lock lock(mutex_);
      beat_.wait_for(lock, options_.lease / 3, [&] { return stopping_; });
      if (stopping_) {
        return;
      }
      snapshot.assign(active_.begin(), active_.end());
    }
    for (auto& [id, active] : snapshot) {
      try {
        const HeartbeatResult r = store_.heartbeat(id, active->worker, options_.lease);
        active->lost = active->lost || !r.lease_held;
        active->cancelled = active->cancelled || r.cancel_requested;
      } catch (const std::exception& e) {
        spdlog::error("heartbeat of build {}: {}", id, e.what());
      }
    }
    try {
      store_.requeue_expired();
    } catch (const std::exception& e) {
      spdlog::error("requeue of expired builds: {}", e.what());
    }
  }
}

} // namespace oci2eif::server
