// How core/ does independent work at the same time without starting threads (core/ has none):
// the caller passes a RunAll, which runs every task of a batch, possibly on several threads, and
// returns once all have ended, rethrowing the first exception. The EIF writer uses it to hash
// PCR0 and PCR2 and to write the next chunk at once. An empty RunAll runs the tasks in order on
// the calling thread, so results never depend on whether, or how, tasks ran in parallel.
#pragma once

#include <functional>
#include <span>

namespace oci2eif {

using Task = std::function<void()>;
using RunAll = std::function<void(std::span<const Task>)>;

// Runs `tasks` through `runner`, or in order when it is empty.
inline void run_all(const RunAll& runner, std::span<const Task> tasks) {
  if (runner) {
    runner(tasks);
    return;
  }
  for (const Task& t : tasks) {
    t();
  }
}

} // namespace oci2eif
