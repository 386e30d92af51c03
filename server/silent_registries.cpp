#include "server/silent_registries.hpp"

namespace oci2eif::server {

bool SilentRegistries::skip(const std::string& domain, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto it = quiet_until_.find(domain);
  return it != quiet_until_.end() && now < it->second;
}

void SilentRegistries::silent(const std::string& domain, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  quiet_until_[domain] = now + quiet_;
}

void SilentRegistries::answered(const std::string& domain) {
  std::lock_guard lock(mutex_);
  quiet_until_.erase(domain);
}

} // namespace oci2eif::server
