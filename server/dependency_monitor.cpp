#include "server/dependency_monitor.hpp"

#include <spdlog/spdlog.h>

namespace oci2eif::server {

DependencyMonitor::DependencyMonitor(std::vector<Dependency> dependencies,
                                     std::chrono::milliseconds interval)
    : dependencies_(std::move(dependencies)), interval_(interval), problems_(dependencies_.size()) {
  check_now();
  thread_ = std::thread([this] { run(); });
}

DependencyMonitor::~DependencyMonitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DependencyMonitor::check_now() {
  for (std::size_t i = 0; i < dependencies_.size(); ++i) {
    std::optional<std::string> problem;
    try {
      problem = dependencies_[i].check();
    } catch (const std::exception& e) {
      problem = e.what();
    }
    std::lock_guard lock(mutex_);
    if (problem != problems_[i]) { // log changes only: an outage is one line, not one a second
      if (problem) {
        spdlog::error("{} unavailable: {}", dependencies_[i].name, *problem);
      } else {
        spdlog::info("{} available again", dependencies_[i].name);
      }
    }
    problems_[i] = std::move(problem);
  }
}

void DependencyMonitor::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) {
      return;
    }
    lock.unlock();
    check_now();
    lock.lock();
  }
}

std::optional<std::string> DependencyMonitor::problem() const {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < dependencies_.size(); ++i) {
    if (problems_[i]) {
      return dependencies_[i].name + ": " + *problems_[i];
    }
  }
  return std::nullopt;
}

std::map<std::string, bool> DependencyMonitor::states() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, bool> out;
  for (std::size_t i = 0; i < dependencies_.size(); ++i) {
    out[dependencies_[i].name] = !problems_[i];
  }
  return out;
}

} // namespace oci2eif::server
