#include "api/connection_threads.hpp"

#include <spdlog/spdlog.h>
#include <system_error>
#include <thread>
#include <utility>

namespace oci2eif::api {

ConnectionThreads::ConnectionThreads(std::size_t max_threads)
    : max_threads_(max_threads == 0 ? 1 : max_threads) {
}

ConnectionThreads::~ConnectionThreads() {
  shutdown();
}

void ConnectionThreads::enqueue(std::function<void()> connection) {
  std::unique_lock lock(mutex_);
  if (threads_ >= max_threads_) {
    waiting_.push_back(std::move(connection));
    return;
  }
  ++threads_;
  lock.unlock();
  try {
    std::thread(&ConnectionThreads::serve, this, std::move(connection)).detach();
  } catch (const std::system_error& e) { // no thread to be had: wait for a running one
    spdlog::warn("HTTP connection queued: cannot start a thread ({})", e.what());
    lock.lock();
    --threads_;
    waiting_.push_back(std::move(connection));
    if (threads_ == 0) { // nothing running would ever take it: serve it here
      auto next = std::move(waiting_.front());
      waiting_.pop_front();
      lock.unlock();
      next();
    }
  }
}

// Runs `connection`, then whatever waits, then ends: a thread lives as long as there is work.
void ConnectionThreads::serve(std::function<void()> connection) {
  for (;;) {
    connection();
    std::lock_guard lock(mutex_);
    if (waiting_.empty()) {
      if (--threads_ == 0) {
        all_ended_.notify_all();
      }
      return;
    }
    connection = std::move(waiting_.front());
    waiting_.pop_front();
  }
}

void ConnectionThreads::shutdown() {
  std::unique_lock lock(mutex_);
  all_ended_.wait(lock, [this] { return threads_ == 0 && waiting_.empty(); });
}

std::size_t ConnectionThreads::running() const {
  std::lock_guard lock(mutex_);
  return threads_;
}

} // namespace oci2eif::api
