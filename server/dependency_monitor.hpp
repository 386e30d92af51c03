// DependencyMonitor: whether the servers this replica depends on (the PostgreSQL job store,
// the S3 object store) answer, checked every few seconds on a thread of its own, so that
// /readyz, POST /v1/builds and the workers' hold all see one recent answer instead of each
// asking the network (a hung server would otherwise hang every probe).
//
// A dependency that fails its check makes the replica not ready (/readyz 503 naming it and the
// reason), refuses new builds (503 Unavailable, Retry-After) and holds the workers (nothing is
// claimed that could not be finished); running builds go on. Each check reconnects by itself,
// so the replica recovers when the dependency does. The embedded mode has nothing to monitor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace oci2eif::server {

struct Dependency {
  std::string name; // "database", "object store": how /readyz and logs name it
  // nullopt when usable, else why not. Must not hang for long: it bounds the check interval.
  std::function<std::optional<std::string>()> check;
};

class DependencyMonitor {
public:
  // Checks every dependency once before returning (so the first answer is not a guess), then
  // every `interval` on its own thread.
  DependencyMonitor(std::vector<Dependency> dependencies, std::chrono::milliseconds interval);
  ~DependencyMonitor(); // stops the thread (bounded by one round of checks)
  DependencyMonitor(const DependencyMonitor&) = delete;
  DependencyMonitor& operator=(const DependencyMonitor&) = delete;

  // "<name>: <reason>" of the first failing dependency, in the order given; nullopt when all
  // answer.
  std::optional<std::string> problem() const;
  // Each dependency's last state (true: up), for the oci2eif_dependency_up gauge.
  std::map<std::string, bool> states() const;
  // Checks now, on the caller's thread (after a failure the caller saw itself).
  void check_now();

private:
  void run();

  std::vector<Dependency> dependencies_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::vector<std::optional<std::string>> problems_; // by dependency, under mutex_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace oci2eif::server
