// A RunAll (core/run_all.hpp) on a few threads kept for the whole of one build, so that core/
// can hash, write and read at once without starting threads itself. The calling thread takes
// part, so `threads` = 2 means one helper. Tasks of a batch are independent; run_all() returns
// once every task of the batch has ended, rethrowing the first exception one of them threw.
#pragma once

#include "core/run_all.hpp"

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace oci2eif::pipeline {

class ParallelTasks {
public:
  explicit ParallelTasks(unsigned threads);
  ~ParallelTasks();
  ParallelTasks(const ParallelTasks&) = delete;
  ParallelTasks& operator=(const ParallelTasks&) = delete;

  void run_all(std::span<const Task> tasks);
  // What EifContents::run_all takes; empty with one thread (tasks then run in order, inline).
  // Valid while this object lives.
  RunAll runner();

private:
  void helper();
  // Runs tasks of the current batch until none is left to start. REQUIRES: lock held.
  void work(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable wake_; // a batch was posted, or stopping
  std::condition_variable done_; // the batch's last task ended
  std::span<const Task> batch_;
  std::size_t next_ = 0;     // the batch's next task to start
  std::size_t running_ = 0;  // the batch's tasks started and not ended
  std::size_t batch_id_ = 0; // counts batches, so a helper takes each one once
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::thread> helpers_;
};

// Threads a build may use: the machine's cores shared among `concurrent_builds`, at least 1.
unsigned threads_per_build(unsigned concurrent_builds);

} // namespace oci2eif::pipeline
