// BuildRunner: one claimed build, from its stored request to published artifacts, and the
// early resolution POST /v1/builds does before queueing. It runs the same pipeline as
// `oci2eif build` (pipeline::build_eif) and adds what the service needs: a kernel from the
// catalog, a private scratch directory, a per-build log, the artifact files and the input key.
#pragma once

#include "core/interrupt.hpp"
#include "pipeline/build_pipeline.hpp"
#include "pipeline/eif_publisher.hpp"
#include "registry/pull_counters.hpp"
#include "server/artifact_store.hpp"
#include "server/build_inputs.hpp"
#include "server/build_log_store.hpp"
#include "server/build_request.hpp"
#include "server/config.hpp"
#include "server/job_store.hpp"
#include "server/kernel_catalog.hpp"
#include "server/signing_keys.hpp"
#include "server/silent_registries.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::server {

// What a build with `push` stored in the registry, published with its artifacts.
struct PushedOutputs {
  std::optional<std::string> provenance_line; // pushed with the EIF: publish the same line
  std::optional<std::string> push_json;       // push.json
};

struct EarlyResolution {
  std::string input_key;     // build_inputs.hpp
  std::string pinned_digest; // registry images: the digest the tag resolved to, built later
};

// Throws Error(Cancelled) or Error(Timeout) when the build must stop. Consulted throughout the
// build (between steps, during downloads, every few MiB of a layer, ramdisk or EIF), from the
// worker's thread and from download threads: it must be thread-safe.

// How long POSTs skip the early resolution of a registry after it did not answer in time.
inline constexpr std::chrono::seconds kSilentRegistryQuiet{30};

class BuildRunner {
public:
  // `kernels`, `keys`, `artifacts` and `logs` (where each build's log is appended while it
  // runs, GET /v1/builds/{id}/log) must outlive the runner. Creates <data dir>/scratch.
  BuildRunner(const ServeConfig& config, KernelCatalog& kernels, const SigningKeys& keys,
              ArtifactStore& artifacts, BuildLogStore& logs);

  // Runs the build; never throws: a failure is an outcome (Failed or Cancelled, with the code
  // and message). Safe to call from several workers at once (each build has its own scratch
  // directory and log; the pull counters are atomic).
  BuildOutcome run(const BuildRecord& build, const Interrupt& stop);

  // Removes what a run of build `id` may have left on this machine (its scratch directory, if a
  // crash or another replica's takeover left it): DELETE calls it once the build is gone.
  // Nothing happens for an id that is_build_id() refuses.
  void forget(const std::string& build_id) const;

  // What POST learns by resolving `request`'s image before queueing it (a registry reference or
  // an OCI layout; one attempt, manifests and config only, a 5 s deadline); nothing if it
  // could not (the worker resolves it then, with retries).
  // Safe to call from several API threads at once.
  std::optional<EarlyResolution> resolve_early(const BuildRequest& request);

  // The image source for a request's `image`: local paths only below `local_images` (throws
  // InvalidInput otherwise), registry pulls with the configured registry options.
  pipeline::ImageRef image_ref(const std::string& image) const;

  // What the registry pulls of all builds so far did (bytes, cache hits and misses), for
  // /metrics.
  const registry::PullCounters& pull_counters() const { return pull_counters_; }

private:
  BuildOutcome run_or_throw(const BuildRecord& build, const Interrupt& stop, std::ostream& log);
  // The pipeline's input for `build`: its request, the catalog kernel, its scratch directory.
  // Throws InvalidInput for an image, platform or signing key the service does not accept.
  pipeline::BuildSpec spec_for(const BuildRecord& build, const BuildRequest& req,
                               const CatalogKernel& kernel) const;
  // Publishes the EIF (`eif`, checked at spec.output), pcr.json, describe.json, rootfs.txt, for
  // a signed build provenance.intoto.jsonl, and last build.json (which lists the others by
  // digest), appending each to `outcome.artifacts`.
  void publish_outputs(const BuildRecord& build, const pipeline::BuildSpec& spec,
                       const pipeline::BuildResult& r, const pipeline::CheckedEif& eif,
                       const BuildInputs& inputs, const PushedOutputs& pushed,
                       BuildOutcome& outcome);
  // The SLSA provenance of a signed build (docs/provenance.md), signed with the EIF's key: one
  // provenance.intoto.jsonl line. `eif_sha256` is the EIF's digest.
  std::string provenance_line(const BuildRecord& build, const pipeline::BuildSpec& spec,
                              const pipeline::BuildResult& r, const std::string& eif_sha256) const;
  // The request's `push`: the EIF (`eif`, checked at spec.output) and, for a signed build, its
  // provenance to the registry, with the service's registry options; logs what was pushed.
  PushedOutputs push_outputs(const BuildRecord& build, const BuildRequest& req,
                             const pipeline::BuildSpec& spec, const pipeline::BuildResult& r,
                             const pipeline::CheckedEif& eif,
                             const pipeline::ProgressLog& log) const;
  // The kernel the request names (or the default); throws InvalidInput naming it if unknown.
  CatalogKernel kernel_for(const BuildRequest& request);

  std::filesystem::path data_dir_;
  registry::RegistryOptions registry_;
  std::vector<std::filesystem::path> local_images_;
  std::vector<std::string> push_targets_;
  FlattenLimits image_limits_;
  std::uint64_t max_eif_bytes_;
  // The cores shared among the workers, so W builds at once do not oversubscribe the machine.
  unsigned threads_per_build_;
  KernelCatalog& kernels_; // resolve() may fetch a kernel another replica took in
  const SigningKeys& keys_;
  ArtifactStore& artifacts_;
  BuildLogStore& logs_;
  registry::PullCounters pull_counters_; // atomics; registry_.counters points here
  SilentRegistries silent_registries_{kSilentRegistryQuiet};
};

} // namespace oci2eif::server
