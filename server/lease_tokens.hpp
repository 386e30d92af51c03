// LeaseTokens: the fencing tokens of the leases one JobStore object handed out (job_store.hpp,
// "fenced"). A claim's attempt number identifies its lease; heartbeat, finish and release carry
// it into their guarded UPDATE, so a worker that lost its lease cannot act on a later one that
// happens to have the same worker id. A token is forgotten when its lease ends well (finish,
// release); a lost lease's stays, so its worker remains fenced out. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace oci2eif::server {

class LeaseTokens {
public:
  void remember(const std::string& id, const std::string& worker, int attempt) {
    std::lock_guard lock(mutex_);
    tokens_[{id, worker}] = attempt;
  }

  // The attempt `worker` claimed build `id` in through this store, if it did.
  std::optional<int> find(const std::string& id, const std::string& worker) const {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find({id, worker});
    return it == tokens_.end() ? std::nullopt : std::optional(it->second);
  }

  void forget(const std::string& id, const std::string& worker) {
    std::lock_guard lock(mutex_);
    tokens_.erase({id, worker});
  }

private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, int> tokens_;
};

} // namespace oci2eif::server
