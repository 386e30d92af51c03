// Registries that did not answer POST's early resolution in time, remembered for a while.
//
// POST resolves a registry tag before queueing (build_runner.hpp, resolve_early) with a short
// budget. A registry that accepts connections and never answers made every POST naming it wait
// the whole budget, holding a connection thread each. After one such silence, POSTs naming that
// registry skip the early resolution for `quiet` (the worker resolves the image, with its own
// retries and timeouts): the build is queued at once, only without deduplication of equal
// requests until the registry answers again.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace oci2eif::server {

class SilentRegistries {
public:
  using Clock = std::chrono::steady_clock;

  explicit SilentRegistries(std::chrono::seconds quiet) : quiet_(quiet) {}

  // Whether a probe of `domain` should be skipped at `now`.
  bool skip(const std::string& domain, Clock::time_point now) const;
  // `domain` did not answer a probe in time at `now`.
  void silent(const std::string& domain, Clock::time_point now);
  // `domain` answered: probe it again from now on.
  void answered(const std::string& domain);

private:
  const std::chrono::seconds quiet_;
  mutable std::mutex mutex_;
  std::map<std::string, Clock::time_point> quiet_until_;
};

} // namespace oci2eif::server
