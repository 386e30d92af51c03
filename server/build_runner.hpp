// BuildRunner: one claimed build, from its stored request to published artifacts. It runs the
// same pipeline as `oci2eif build` (run_build) and adds what the service needs: the kernel
// catalog, a private scratch directory, a per-build log, the artifact files and the input key.
#pragma once

#include "server/artifact_store.hpp"
#include "server/config.hpp"
#include "server/job_store.hpp"
#include "server/kernel_bundle.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace oci2eif::server {

// Called between pipeline steps; throws Error(Cancelled) or Error(Timeout) to stop the build.
using StopCheck = std::function<void()>;

class BuildRunner {
public:
  // Loads every configured kernel bundle (throws naming the bad one).
  BuildRunner(const ServeConfig& config, const ArtifactStore& artifacts);

  bool has_kernel(const std::string& name) const { return kernels_.count(name) != 0; }
  const std::string& default_kernel() const { return default_kernel_; }

  // Runs the build; never throws: a failure is an outcome (Failed or Cancelled, with the code
  // and message).
  BuildOutcome run(const BuildRecord& build, const StopCheck& stop) const;

  // Where the build's log is appended while it runs (GET /v1/builds/{id}/log).
  std::filesystem::path log_path(const std::string& build_id) const;

private:
  struct Kernel {
    KernelBundle bundle;
    std::string digest; // over the kernel, its config and cmdline
  };
  BuildOutcome run_or_throw(const BuildRecord& build, const StopCheck& stop,
                            std::ostream& log) const;

  std::filesystem::path data_dir_;
  const ArtifactStore& artifacts_;
  std::map<std::string, Kernel> kernels_;
  std::string default_kernel_;
};

} // namespace oci2eif::server
