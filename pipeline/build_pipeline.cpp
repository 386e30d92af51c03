#include "pipeline/build_pipeline.hpp"

#include "core/digest.hpp"
#include "core/enclave_tree.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/gzip_sink.hpp"
#include "core/interrupt.hpp"
#include "core/ramdisk_writer.hpp"
#include "core/reporting_source.hpp"
#include "core/rootfs_listing.hpp"
#include "core/size_limited_sink.hpp"
#include "core/tar_reader.hpp"
#include "pipeline/layer_application.hpp"
#include "pipeline/parallel_tasks.hpp"
#include "pipeline/read_ahead_source.hpp"
#include "pipeline/version.hpp"
#include "pipeline/writer_source.hpp"
#include "registry/archive_reference.hpp"
#include "registry/reference.hpp"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <unistd.h>

namespace oci2eif::pipeline {
namespace {

using registry::ResolvedImage;

constexpr std::size_t kMaxKernelConfig = 16 << 20;

std::unique_ptr<registry::ImageSource>
open_source(const ImageRef& ref, const std::filesystem::path& scratch, const ProgressLog& log,
            const Interrupt& interrupt, const registry::ProgressObserver& progress) {
  if (ref.kind == SourceKind::Registry) {
    registry::RegistryOptions options = ref.options;
    options.log = log;
    options.progress = progress;
    if (interrupt) {
      options.interrupt = interrupt;
    }
    registry::Reference reference = registry::Reference::parse(ref.location);
    if (!ref.pinned_digest.empty() && reference.digest.empty()) {
      reference.digest = ref.pinned_digest; // the tag stays for the EIF's name and version
      log("pinned to " + ref.pinned_digest + ", what " + ref.location +
          " resolved to when the build was requested");
    }
    return registry::open_registry(reference, options);
  }
  auto [path, tag] = registry::split_archive_location(ref.location);
  const registry::LocalFiles files = ref.local_root.empty()
                                         ? registry::LocalFiles()
                                         : registry::LocalFiles::beneath(ref.local_root);
  switch (ref.kind) {
  case SourceKind::Registry:
    break;
  case SourceKind::OciLayout:
    return registry::open_oci_layout(files, path, tag);
  case SourceKind::OciArchive:
    std::filesystem::create_directories(scratch / "source");
    return registry::open_oci_archive(files, path, tag, scratch / "source", interrupt);
  case SourceKind::DockerArchive:
    std::filesystem::create_directories(scratch / "source");
    return registry::open_docker_archive(files, path, tag, scratch / "source", interrupt);
  }
  throw Error(ErrorCode::Internal, "unknown image source kind");
}

// The threads this build uses: the spec's number, or all the machine's cores.
unsigned threads_for(const BuildSpec& spec) {
  return spec.threads != 0 ? spec.threads : threads_per_build(1);
}

// The enclave's tree: the flattened image plus what complete_enclave_tree() adds, said in the
// log (the WORKDIR one matters: a user may wonder where the directory came from).
FileTree enclave_tree(LayerFlattener&& flattener, const std::string& workdir,
                      const ProgressLog& log) {
  FileTree tree = std::move(flattener).take_tree();
  const EnclaveTreeChanges changes = complete_enclave_tree(tree, workdir);
  if (!changes.added_workdir.empty()) {
    log("WORKDIR " + workdir + " is not in the image: created /" + changes.added_workdir.back() +
        " (0755, root), as Docker does when a container starts");
  }
  if (!changes.workdir_blocked_by.empty()) {
    log("warning: WORKDIR " + workdir + ": /" + changes.workdir_blocked_by +
        " is not a directory; left as the image has it");
  }
  return tree;
}

std::string listing_of(const FileTree& tree) {
  VectorSink out;
  write_rootfs_listing(tree, out);
  return std::string(out.bytes().begin(), out.bytes().end());
}

// Makes a ramdisk with `write` into `out` (the EIF's section), optionally gzip-compressed. The
// interrupt sees the uncompressed bytes, before the costly compression. At most `budget` bytes
// reach `out` (what the EIF's limit leaves for it): past that, LimitExceeded. The bytes that
// did are taken off `budget`.
template <typename Write>
void stream_ramdisk(ByteSink& out, bool gzip, const Interrupt& interrupt, std::uint64_t& budget,
                    const std::string& refusal, Write&& write) {
  SizeLimitedSink limited(out, budget, refusal);
  if (gzip) {
    GzipSink gz(limited);
    InterruptingSink checked(gz, interrupt);
    write(checked);
    gz.finish();
  } else {
    InterruptingSink checked(limited, interrupt);
    write(checked);
  }
  budget -= limited.written();
}

// The caller's metadata object plus what the pipeline records about the image.
nlohmann::json custom_metadata_for(const nlohmann::json& caller, const ResolvedImage& image) {
  check_custom_metadata(caller);
  nlohmann::json out = caller.is_null() ? nlohmann::json::object() : caller;
  nlohmann::json ours = {{"ImageConfigDigest", image.config_digest},
                         {"ImagePlatform", image.config.platform.to_string()}};
  if (!image.manifest_digest.empty()) {
    ours["ImageManifestDigest"] = image.manifest_digest;
  }
  out.update(ours);
  return out;
}

EifMetadata metadata_for(const BuildSpec& spec, const ResolvedImage& image) {
  EifMetadata m;
  // Defaults: the image's name and its tag (or, pinned by digest only, the manifest digest),
  // like nitro-cli's name-from-URI; local sources use the directory or file name.
  std::string name, version;
  if (spec.image.kind == SourceKind::Registry) {
    const registry::Reference ref = registry::Reference::parse(spec.image.location);
    name = ref.domain + "/" + ref.repository;
    version = ref.tag.empty() ? ref.digest : ref.tag;
  } else {
    auto [path, tag] = registry::split_archive_location(spec.image.location);
    name = path.filename().string();
    version = tag;
  }
  m.image_name = spec.name.value_or(name);
  m.image_version = spec.version.value_or(version.empty() ? image.config_digest : version);
  m.build.build_time = spec.build_time;
  m.build.build_tool = "oci2eif";
  m.build.build_tool_version = kVersion;
  KernelIdentity identity{"Linux", "unknown"};
  if (spec.kernel.config) {
    const Bytes text = read_small_file(*spec.kernel.config, kMaxKernelConfig);
    identity = kernel_identity_from_config(as_chars(text));
  }
  m.build.operating_system = identity.operating_system;
  m.build.kernel_version = identity.kernel_version;
  m.custom_metadata = custom_metadata_for(spec.custom_metadata, image);
  return m;
}

// The pipeline's own check between steps (the interrupt is also consulted within them).
void stop_point(const Interrupt& interrupt) {
  if (interrupt) {
    interrupt();
  }
}

// What the EIF's limit (max_eif_mb) leaves for the ramdisks once the kernel is in.
std::uint64_t ramdisk_budget(const BuildSpec& spec, const std::string& refusal) {
  const std::uint64_t kernel_bytes = std::filesystem::file_size(spec.kernel.kernel);
  if (kernel_bytes >= spec.max_eif_bytes) {
    throw Error(ErrorCode::LimitExceeded,
                refusal + ": the kernel alone has " + std::to_string(kernel_bytes) + " bytes");
  }
  return spec.max_eif_bytes - kernel_bytes;
}

// Writes the EIF to spec.output, committed only once complete: a build stopped part-way leaves
// no file behind. The ramdisks (bootstrap, then the application's from `tree` and `spool`) are
// made while they are written into it, with no scratch file between.
EifWriteResult write_eif_file(const BuildSpec& spec, const ResolvedImage& image,
                              const FileTree& tree, const ContentSpool& spool,
                              const AppConfig& app) {
  const RamdiskOptions options;
  const std::string refusal = "the EIF would be larger than its limit of " +
                              std::to_string(spec.max_eif_bytes) + " bytes (max_eif_mb)";
  std::uint64_t budget = ramdisk_budget(spec, refusal);
  EifContents contents;
  contents.arch = spec.kernel.arch;
  contents.cmdline = spec.cmdline.value_or(spec.kernel.cmdline);
  contents.metadata = metadata_for(spec, image);
  contents.signer = spec.signer;
  ParallelTasks tasks(threads_for(spec));
  contents.run_all = tasks.runner();
  if (contents.run_all) { // more than one thread: make the ramdisks beside hashing them
    contents.ramdisk_pipe = [](const RamdiskWriter& write) -> std::unique_ptr<ByteSource> {
      return std::make_unique<WriterSource>(write, "the ramdisk being made");
    };
  }
  FileSource kernel_file(spec.kernel.kernel);
  InterruptingSource kernel(kernel_file, spec.interrupt);
  contents.kernel = &kernel;
  contents.streamed_ramdisks = {
      [&](ByteSink& out) {
        stream_ramdisk(out, spec.gzip, spec.interrupt, budget, refusal, [&](ByteSink& cpio) {
          FileSource init(spec.init);
          std::optional<FileSource> nsm;
          if (spec.kernel.nsm_ko) {
            nsm.emplace(*spec.kernel.nsm_ko);
          }
          write_bootstrap_ramdisk(init, nsm ? &*nsm : nullptr, options, cpio);
        });
      },
      [&](ByteSink& out) {
        stream_ramdisk(out, spec.gzip, spec.interrupt, budget, refusal,
                       [&](ByteSink& cpio) { write_app_ramdisk(tree, spool, app, options, cpio); });
      }};
  AtomicFileWriter out(spec.output);
  EifWriteResult result = write_eif(contents, out);
  out.commit();
  return result;
}

} // namespace

AppConfig app_config_for(const registry::ImageConfig& config,
                         const std::optional<std::vector<std::string>>& entrypoint,
                         const std::optional<std::vector<std::string>>& cmd,
                         const std::vector<std::string>& env) {
  AppConfig app;
  app.argv = entrypoint.value_or(config.entrypoint);
  const std::vector<std::string> args =
      cmd ? *cmd : (entrypoint ? std::vector<std::string>{} : config.cmd);
  app.argv.insert(app.argv.end(), args.begin(), args.end());
  app.env = config.env;
  for (const std::string& e : env) {
    const std::string key = e.substr(0, e.find('=') + 1);
    std::erase_if(app.env, [&](const std::string& old) { return old.rfind(key, 0) == 0; });
    app.env.push_back(e);
  }
  app.workdir = config.working_dir;
  app.user = config.user;
  return app;
}

std::filesystem::path default_init_path(Arch arch) {
  const std::string file = "oci2eif-init-" + std::string(arch_name(arch));
  if (const char* dir = std::getenv("OCI2EIF_INIT_DIR")) {
    return std::filesystem::path(dir) / file;
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (const char* rel : {"../init", "../lib/oci2eif"}) {
    const std::filesystem::path candidate = exe.parent_path() / rel / file;
    if (std::filesystem::is_regular_file(candidate)) {
      return candidate;
    }
  }
  throw Error(ErrorCode::NotFound, "cannot find the enclave init " + file +
                                       " next to the oci2eif executable; pass --init FILE or set "
                                       "OCI2EIF_INIT_DIR");
}

void check_custom_metadata(const nlohmann::json& metadata) {
  if (metadata.is_null()) {
    return;
  }
  if (!metadata.is_object()) {
    throw Error(ErrorCode::InvalidInput,
                std::string("custom metadata must be a JSON object, not ") + metadata.type_name());
  }
  for (const char* key : {"ImageConfigDigest", "ImageManifestDigest", "ImagePlatform"}) {
    if (metadata.contains(key)) {
      throw Error(ErrorCode::InvalidInput, "custom metadata key '" + std::string(key) +
                                               "' is reserved: oci2eif records the image there");
    }
  }
}

std::unique_ptr<registry::ImageSource>
open_image_source(const ImageRef& ref, const std::filesystem::path& scratch, const ProgressLog& log,
                  const registry::ProgressObserver& progress) {
  return open_source(ref, scratch, log, {}, progress);
}

std::string flatten_listing(const ImageRef& ref, const registry::Platform& platform,
                            const std::filesystem::path& scratch, const ProgressLog& log,
                            const registry::ProgressObserver& progress) {
  auto source = open_source(ref, scratch, log, {}, progress);
  const ResolvedImage image = source->resolve(platform);
  source->start_fetching_layers(image.manifest.layers);
  FileSpool spool(scratch / "content.spool");
  LayerFlattener flattener(spool);
  apply_layers(*source, image, flattener, log, progress, threads_per_build(1));
  return listing_of(enclave_tree(std::move(flattener), image.config.working_dir, log));
}

BuildResult build_eif(const BuildSpec& spec, const ProgressLog& log) {
  const auto started = std::chrono::steady_clock::now();
  BuildResult result;
  StepTimer steps(result.steps, log);
  const registry::Platform platform =
      spec.platform.value_or(registry::Platform::for_arch(arch_name(spec.kernel.arch)));
  auto source = open_source(spec.image, spec.scratch_dir, log, spec.interrupt, spec.progress);
  result.image = source->resolve(platform);
  log("resolved " + source->name() + " for " + platform.to_string() + ": " +
      std::to_string(result.image.manifest.layers.size()) + " layers, config " +
      short_digest(result.image.config_digest) + "…");
  const AppConfig app = app_config_for(result.image.config, spec.entrypoint, spec.cmd, spec.env);
  validate_app_config(app);
  steps.mark("resolve");

  stop_point(spec.interrupt);
  source->start_fetching_layers(result.image.manifest.layers); // the first; the rest behind
  steps.mark("pull");

  stop_point(spec.interrupt);
  FileSpool spool(spec.scratch_dir / "content.spool",
                  spec.rootfs_listing ? ContentDigests::Sha256 : ContentDigests::None);
  LayerFlattener flattener(spool, spec.limits, spec.interrupt);
  apply_layers(*source, result.image, flattener, log, spec.progress, threads_for(spec));
  result.xattr_paths = flattener.xattr_paths();
  for (const std::string& p : result.xattr_paths) {
    log("warning: extended attributes of /" + p + " dropped (newc cpio cannot carry them)");
  }
  const FileTree tree = enclave_tree(std::move(flattener), app.workdir, log);
  if (spec.rootfs_listing) {
    result.rootfs_listing = listing_of(tree);
  }
  steps.mark("flatten");

  stop_point(spec.interrupt);
  result.eif = write_eif_file(spec, result.image, tree, spool, app);
  const auto& sections = result.eif.sections; // kernel, cmdline, metadata, bootstrap, app
  log("ramdisks written: application " + std::to_string(sections.at(4).size) +
      " bytes, bootstrap " + std::to_string(sections.at(3).size) + " bytes");
  steps.mark("eif");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log("wrote " + spec.output.string() + " (" + std::to_string(result.eif.size) + " bytes) in " +
      format_seconds(seconds) + " s");
  return result;
}

} // namespace oci2eif::pipeline
