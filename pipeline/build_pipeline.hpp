// The one build pipeline (docs/ARCHITECTURE.md): image source → resolve → pull → flatten layers
// → ramdisks → EIF + PCRs. `oci2eif build` runs it directly; the daemon's workers run the same
// function. All I/O is within `scratch_dir` (private to the build) and the outputs.
//
// Progress goes to the ProgressLog: one line per layer (index/count, digest, compressed and
// uncompressed bytes, bytes downloaded and from the cache, time) and one per step
// ("step flatten: 1.234 s"). BuildSpec::interrupt is consulted throughout (downloads, every few
// MiB of a layer, ramdisk or EIF, and between steps); what it throws ends the build there, with
// no output file written.
#pragma once

#include "core/eif_signature.hpp"
#include "core/eif_writer.hpp"
#include "core/interrupt.hpp"
#include "core/layer_flattener.hpp"
#include "core/ramdisk_writer.hpp"
#include "pipeline/image_reference.hpp"
#include "pipeline/kernel_bundle.hpp"
#include "pipeline/step_timing.hpp"
#include "registry/image_source.hpp"
#include "registry/registry_source.hpp"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::pipeline {

inline constexpr std::uint64_t kDefaultMaxEifBytes = 8ull << 30;

struct BuildSpec {
  ImageRef image;
  std::optional<registry::Platform> platform; // default: the one matching kernel.arch
  KernelBundle kernel;
  std::optional<std::string> cmdline; // default: the bundle's
  std::filesystem::path init;         // the enclave init binary for kernel.arch
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> env; // KEY=VALUE, replacing the image's KEY
  bool gzip = false;
  std::optional<std::string> name;
  std::optional<std::string> version;
  // The caller's custom metadata: a JSON object (or null), merged with the image digests and
  // platform the pipeline records (keys Image*, which the caller may not set).
  nlohmann::json custom_metadata;
  std::string build_time = "1970-01-01T00:00:00+00:00";
  const EifSigner* signer = nullptr;
  FlattenLimits limits;
  // What the EIF's kernel and ramdisks (as written, compressed or not) may add up to; the rest
  // of an EIF is a few KiB. Checked while the ramdisks are written. 8 GiB, as for the image:
  // an enclave must hold the ramdisks in its memory.
  std::uint64_t max_eif_bytes = kDefaultMaxEifBytes;
  std::filesystem::path scratch_dir; // must exist, empty, private to this build
  std::filesystem::path output;      // the EIF, written atomically
  Interrupt interrupt;               // stops the build (the daemon's cancel and timeout)
  // Told how each layer's download and application advance (a terminal's progress line).
  registry::ProgressObserver progress;
  // Threads the build may use (reading and inflating a layer while it is applied, hashing PCRs
  // while writing the EIF); 0: all the machine's cores. The bytes are the same for any number.
  unsigned threads = 0;
  // Whether to make BuildResult::rootfs_listing: it needs every file's sha256, which costs
  // about 0.6 s of CPU per GB of image.
  bool rootfs_listing = true;
};

struct BuildResult {
  registry::ResolvedImage image;
  EifWriteResult eif;
  std::string rootfs_listing; // "" unless BuildSpec::rootfs_listing
  std::vector<std::string> xattr_paths;
  std::vector<StepTiming> steps; // resolve, pull, flatten, eif (the ramdisks made into it)
};

using ProgressLog = std::function<void(const std::string&)>;

// Opens the image `ref` names; archives are unpacked under `scratch`, registry progress goes
// to `log` and, byte by byte, to `progress`.
std::unique_ptr<registry::ImageSource>
open_image_source(const ImageRef& ref, const std::filesystem::path& scratch, const ProgressLog& log,
                  const registry::ProgressObserver& progress = {});

BuildResult build_eif(const BuildSpec& spec, const ProgressLog& log);

// Throws InvalidInput unless `metadata` is null or an object without the keys the pipeline
// writes itself (ImageConfigDigest, ImageManifestDigest, ImagePlatform): a caller setting one
// would make the EIF misreport its own image.
void check_custom_metadata(const nlohmann::json& metadata);

// Only the flattening part: the image's root filesystem listing (docs/rootfs-listing.md).
std::string flatten_listing(const ImageRef& image, const registry::Platform& platform,
                            const std::filesystem::path& scratch_dir, const ProgressLog& log,
                            const registry::ProgressObserver& progress = {});

// Docker semantics for the program to run: ENTRYPOINT then CMD; an entrypoint override drops
// the image's CMD (as `docker run --entrypoint` does); env overrides replace by key.
AppConfig app_config_for(const registry::ImageConfig& config,
                         const std::optional<std::vector<std::string>>& entrypoint,
                         const std::optional<std::vector<std::string>>& cmd,
                         const std::vector<std::string>& env);

// The enclave init built with oci2eif for `arch`: $OCI2EIF_INIT_DIR, else next to the
// executable (../init in the build tree, ../lib/oci2eif when installed).
std::filesystem::path default_init_path(Arch arch);

} // namespace oci2eif::pipeline
