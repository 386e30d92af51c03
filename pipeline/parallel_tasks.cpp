#include "pipeline/parallel_tasks.hpp"

#include <algorithm>
#include <utility>

namespace oci2eif::pipeline {

ParallelTasks::ParallelTasks(unsigned threads) {
  for (unsigned i = 1; i < threads; ++i) {
    helpers_.emplace_back([this] { helper(); });
  }
}

ParallelTasks::~ParallelTasks() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : helpers_) {
    t.join();
  }
}

RunAll ParallelTasks::runner() {
  if (helpers_.empty()) {
    return {};
  }
  return [this](std::span<const Task> tasks) { run_all(tasks); };
}

void ParallelTasks::run_all(std::span<const Task> tasks) {
  std::unique_lock<std::mutex> lock(mutex_);
  batch_ = tasks;
  next_ = 0;
  running_ = 0;
  error_ = nullptr;
  ++batch_id_;
  wake_.notify_all();
  work(lock);
  done_.wait(lock, [this] { return next_ == batch_.size() && running_ == 0; });
  batch_ = {};
  if (error_) {
    std::rethrow_exception(std::exchange(error_, nullptr));
  }
}

void ParallelTasks::work(std::unique_lock<std::mutex>& lock) {
  while (next_ < batch_.size()) {
    const Task& task = batch_[next_++];
    ++running_;
    lock.unlock();
    std::exception_ptr error;
    try {
      task();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) {
      error_ = error;
    }
    if (--running_ == 0 && next_ == batch_.size()) {
      done_.notify_all();
    }
  }
}

void ParallelTasks::helper() {
  std::unique_lock<std::mutex> lock(mutex_);
  std::size_t seen = 0;
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || batch_id_ != seen; });
    if (stopping_) {
      return;
    }
    seen = batch_id_;
    work(lock);
  }
}

unsigned threads_per_build(unsigned concurrent_builds) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max(1u, cores / std::max(1u, concurrent_builds));
}

} // namespace oci2eif::pipeline
