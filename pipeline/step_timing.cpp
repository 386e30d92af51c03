#include "pipeline/step_timing.hpp"

#include <cstdio>

namespace oci2eif::pipeline {

StepTimer::StepTimer(std::vector<StepTiming>& out, std::function<void(const std::string&)> log)
    : out_(out), log_(std::move(log)) {
}

void StepTimer::mark(const std::string& step) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  out_.push_back({step, seconds});
  if (log_) {
    log_("step " + step + ": " + format_seconds(seconds) + " s");
  }
}

std::string format_seconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", seconds);
  return buf;
}

} // namespace oci2eif::pipeline
