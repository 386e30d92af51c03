// BuildRunner: one claimed build, from its stored request to published artifacts. It runs the
// same pipeline as `oci2eif build` (pipeline::run_build) and adds what the service needs: the
// kernel catalog, a private scratch directory, a per-build log, the artifact files and the input
// key.
#pragma once

#include "core/eif_signature.hpp"
#include "pipeline/build_pipeline.hpp"
#include "pipeline/kernel_bundle.hpp"
#include "registry/pull_counters.hpp"
#include "server/artifact_store.hpp"
#include "server/build_inputs.hpp"
#include "server/build_request.hpp"
#include "server/config.hpp"
#include "server/job_store.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::server {

// A kernel of the catalog, as GET /v1/kernels shows it.
struct KernelInfo {
  std::string name;
  Arch arch = Arch::X86_64;
  std::string source;        // "configured" (incl. nitro-cli) or "uploaded"
  std::string kernel_sha256; // "sha256:<hex>" of bzImage / Image
  std::optional<std::string> config_sha256;
  std::optional<std::string> nsm_sha256;
  std::string cmdline; // the bundle's default command line
  std::string digest;  // over kernel, cmdline, config and nsm.ko (part of a build's input key)
  bool is_default = false;
};

// The files of an uploaded kernel bundle (contents, not paths).
struct KernelUpload {
  Arch arch = Arch::X86_64;
  std::string kernel; // bzImage (x86_64) or Image (aarch64)
  std::optional<std::string> config;
  std::optional<std::string> nsm_ko;
  std::optional<std::string> cmdline;
};

struct EarlyResolution {
  std::string input_key;     // build_inputs.hpp
  std::string pinned_digest; // registry images: the digest the tag resolved to, built later
};

enum class KernelRemoveResult { NotFound, Removed, IsDefault, Configured };

// Throws Error(Cancelled) or Error(Timeout) when the build must stop. Consulted throughout the
// build (between steps, during downloads, every few MiB of a layer, ramdisk or EIF), from the
// worker's thread and from download threads: it must be thread-safe.
using StopCheck = std::function<void()>;

class BuildRunner {
public:
  // Loads every configured kernel bundle (throws naming the bad one).
  BuildRunner(const ServeConfig& config, const ArtifactStore& artifacts);

  // The catalog: configured bundles (the first is the default), then those uploaded through the
  // API, which live in <data dir>/kernels/<name>/ and are loaded again at start.
  bool has_kernel(const std::string& name) const;
  const std::string& default_kernel() const { return default_kernel_; }
  std::vector<KernelInfo> kernels() const;
  std::optional<KernelInfo> kernel(const std::string& name) const;
  // Writes the bundle to <data dir>/kernels/<name>/ atomically (a temp directory, fsync'd,
  // renamed) and adds it. InvalidInput for a bad name or a name already in the catalog
  // (AlreadyExists is reported as InvalidInput with that detail).
  KernelInfo add_kernel(const std::string& name, const KernelUpload& upload) const;
  // Removes an uploaded kernel (its directory too). The default and configured ones stay.
  // A build already running with it may fail.
  KernelRemoveResult remove_kernel(const std::string& name) const;

  // The signing keys of the configuration, loaded and checked at start; requests name them.
  bool has_signing_key(const std::string& name) const { return signers_.count(name) != 0; }
  std::string signing_key_names() const; // "a, b" or "none"
  // The request's signing key and its certificate's PCR8; InvalidInput for an unknown name.
  std::optional<SigningIdentity> signing_identity(const BuildRequest& request) const;

  // Runs the build; never throws: a failure is an outcome (Failed or Cancelled, with the code
  // and message).
  BuildOutcome run(const BuildRecord& build, const StopCheck& stop) const;

  // What POST learns by resolving `request`'s image before queueing it (a registry reference or
  // an OCI layout; one attempt, manifests and config only, a 5 s deadline); nothing if it
  // could not (the worker resolves it then, with retries).
  std::optional<EarlyResolution> resolve_early(const BuildRequest& request) const;

  // The image source for a request's `image`: local paths only below `local_images` (throws
  // InvalidInput otherwise), registry pulls with the configured registry options.
  pipeline::ImageRef image_ref(const std::string& image) const;

  // Where the build's log is appended while it runs (GET /v1/builds/{id}/log).
  std::filesystem::path log_path(const std::string& build_id) const;

  // What the registry pulls of all builds so far did (bytes, cache hits and misses), for
  // /metrics.
  const registry::PullCounters& pull_counters() const { return pull_counters_; }

private:
  struct Kernel {
    pipeline::KernelBundle bundle;
    std::string digest; // over the kernel, its config and cmdline
    KernelInfo info;
  };
  static Kernel load(const std::string& name, const std::filesystem::path& dir,
                     const std::string& source);
  std::optional<Kernel> find_kernel(const std::string& name) const;
  BuildOutcome run_or_throw(const BuildRecord& build, const StopCheck& stop,
                            std::ostream& log) const;

  std::filesystem::path data_dir_;
  registry::RegistryOptions registry_;
  std::vector<std::filesystem::path> local_images_;
  const ArtifactStore& artifacts_;
  mutable std::mutex kernels_mutex_;
  mutable std::map<std::string, Kernel> kernels_;
  std::string default_kernel_;
  struct Signer {
    EifSigner signer;
    std::string pcr8; // hex: identifies the certificate in the input key
  };
  std::map<std::string, Signer> signers_;
  const Signer& signer(const std::string& name) const; // throws InvalidInput naming the field
  mutable registry::PullCounters pull_counters_;       // updated by the builds' download threads
};

} // namespace oci2eif::server
