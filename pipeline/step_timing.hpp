// How long each step of a build took: resolve, pull, flatten, ramdisks, eif (the pipeline) and
// artifacts (the service). Shown in the build's log as "step NAME: S.SSS s" and in the API's
// build view. Steps follow one another: "pull" only starts the layers' downloads, which go on
// during "flatten", each layer applied as it arrives.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace oci2eif::pipeline {

struct StepTiming {
  std::string step;
  double seconds = 0;
};

// Measures consecutive steps: each mark() ends the step begun at the previous mark() (or at
// construction), records it and reports it to `log`.
class StepTimer {
public:
  StepTimer(std::vector<StepTiming>& out, std::function<void(const std::string&)> log);
  void mark(const std::string& step);

private:
  std::vector<StepTiming>& out_;
  std::function<void(const std::string&)> log_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// "1.234": seconds with millisecond precision, for log lines.
std::string format_seconds(double seconds);

} // namespace oci2eif::pipeline
