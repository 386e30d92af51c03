// WorkerPool: N threads that claim builds from the JobStore and run them.
//
// Each worker loops: claim (with a lease) → run → finish. One heartbeat thread renews the
// leases of all running builds every lease/3 and relays cancellation requests (the API also
// relays one at once through cancel()); a build whose lease is lost or that was cancelled or
// timed out is stopped the next time the pipeline consults the build's Interrupt (it does so
// throughout).
// Nothing is queued in memory: a build that was never claimed stays in the store for the next
// worker (or the next process).
#pragma once

#include "core/interrupt.hpp"
#include "server/job_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace oci2eif::server {

struct WorkerPoolOptions {
  unsigned workers = 1;
  std::chrono::milliseconds lease{30'000};
  std::chrono::milliseconds build_timeout{3'600'000};
  std::chrono::milliseconds idle_poll{1'000}; // how often an idle worker looks again
  std::string node = "node";                  // prefix of worker ids
  // When set and it gives a reason, idle workers claim nothing (queued builds stay queued) and
  // look again after idle_poll; the reason is logged when holding starts and when it ends.
  std::function<std::optional<std::string>()> hold;
};

using RunBuild = std::function<BuildOutcome(const BuildRecord&, const Interrupt&)>;

class WorkerPool {
public:
  WorkerPool(JobStore& store, RunBuild run, WorkerPoolOptions options);
  ~WorkerPool(); // stop()s
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Wakes an idle worker: there may be new work.
  void notify();
  // Stops claiming, asks running builds to stop and joins the threads. Builds stopped this way
  // are not finished: their lease lapses and they are claimed again.
  void stop();
  // Graceful shutdown: stops claiming at once, waits up to `grace` for the running builds to
  // end, then stop()s. Builds stopped by the shutdown are released to the queue (claimable at
  // once, by this store's next user). Returns how many were released.
  int drain(std::chrono::milliseconds grace);
  std::size_t running() const;
  // Stops build `id` if this pool runs it: its Interrupt throws Cancelled from now on, without
  // waiting for the heartbeat to relay the store's cancel flag. False if it is not running here.
  bool cancel(const std::string& id);

private:
  struct Active {
    std::string worker;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> lost{false};
    std::atomic<bool> shutdown{false}; // stopped by stop(): release, not abandon
    std::chrono::steady_clock::time_point deadline;
  };
  void work(const std::string& worker);
  bool held(); // options_.hold gave a reason (logged on change)
  void heartbeat();
  void run_one(const std::string& worker, const BuildRecord& build);
  // The build's Interrupt: throws Cancelled (shutdown, lost lease, cancel) or Timeout.
  void check_stop(const Active& active) const;
  // A build stopped by the shutdown goes back to the queue; failures to do so are logged.
  void requeue(const std::string& worker, const std::string& id);
  // Stores the outcome unless another worker took the build over; failures are logged.
  void record_outcome(const std::string& worker, const BuildRecord& build,
                      const BuildOutcome& outcome);
  void forget(const std::string& id); // the build left active_

  JobStore& store_;
  RunBuild run_;
  WorkerPoolOptions options_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_; // idle workers
  std::uint64_t wakeups_ = 0;    // under mutex_: notify() calls, so none is lost or ignored
  bool holding_ = false;         // under mutex_: the last held() gave a reason
  std::condition_variable beat_; // the heartbeat thread
  std::condition_variable idle_; // drain(): the last running build ended
  bool stopping_ = false;
  bool draining_ = false; // no more claims
  std::atomic<int> released_{0};
  std::map<std::string, std::shared_ptr<Active>> active_; // by build id
};

} // namespace oci2eif::server
