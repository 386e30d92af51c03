#include "server/build_pipeline.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/gzip_sink.hpp"
#include "core/ramdisk_writer.hpp"
#include "core/rootfs_listing.hpp"
#include "core/tar_reader.hpp"
#include "registry/reference.hpp"
#include "server/version.hpp"

#include <chrono>
#include <cstdlib>
#include <unistd.h>

namespace oci2eif::server {
namespace {

using registry::ResolvedImage;

constexpr std::size_t kMaxKernelConfig = 16 << 20;

std::unique_ptr<registry::ImageSource>
open_source(const ImageRef& ref, const std::filesystem::path& scratch, const ProgressLog& log) {
  if (ref.kind == SourceKind::Registry) {
    registry::RegistryOptions options = ref.options;
    options.log = log;
    return registry::open_registry(registry::Reference::parse(ref.location), options);
  }
  auto [path, tag] = registry::split_location_tag(ref.location);
  switch (ref.kind) {
  case SourceKind::Registry:
    break;
  case SourceKind::OciLayout:
    return registry::open_oci_layout(path, tag);
  case SourceKind::OciArchive:
    std::filesystem::create_directories(scratch / "source");
    return registry::open_oci_archive(path, tag, scratch / "source");
  case SourceKind::DockerArchive:
    std::filesystem::create_directories(scratch / "source");
    return registry::open_docker_archive(path, tag, scratch / "source");
  }
  throw Error(ErrorCode::Internal, "unknown image source kind");
}

std::string short_digest(const std::string& d) {
  return d.substr(0, 19);
}

// Applies every layer: blob (digest-checked) → decompression → tar (diff_id-checked).
void flatten(registry::ImageSource& source, const ResolvedImage& image, LayerFlattener& flattener,
             const ProgressLog& log) {
  const auto& layers = image.manifest.layers;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const registry::Descriptor& d = layers[i];
    const std::string name =
        source.name() + ": layer " + std::to_string(i + 1) + " (" + short_digest(d.digest) + "…)";
    const Compression compression = registry::layer_compression(d.media_type, name);
    auto blob = source.open_blob(d);
    auto tar = decompressing_source(*blob, compression, name);
    VerifyingSource diff(*tar, image.config.diff_ids[i], kUnknownSize,
                         name + ": uncompressed content (diff_id)");
    flattener.apply_layer(diff, name);
    drain(*blob);
    log("layer " + std::to_string(i + 1) + "/" + std::to_string(layers.size()) + " " +
        short_digest(d.digest) + "… " + std::to_string(d.size) + " bytes applied (" +
        std::to_string(flattener.tree().size()) + " entries so far)");
  }
}

std::string listing_of(const FileTree& tree) {
  VectorSink out;
  write_rootfs_listing(tree, out);
  return std::string(out.bytes().begin(), out.bytes().end());
}

// Writes a ramdisk to a scratch file, optionally gzip-compressed, and returns its path.
template <typename Write>
std::filesystem::path write_ramdisk(const std::filesystem::path& path, bool gzip, Write&& write) {
  FileSink file(path);
  if (gzip) {
    GzipSink gz(file);
    write(gz);
    gz.finish();
  } else {
    write(file);
  }
  file.close();
  return path;
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
    auto [path, tag] = registry::split_location_tag(spec.image.location);
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
  m.custom_metadata = {{"ImageConfigDigest", image.config_digest},
                       {"ImagePlatform", image.config.platform.to_string()}};
  if (!image.manifest_digest.empty()) {
    m.custom_metadata["ImageManifestDigest"] = image.manifest_digest;
  }
  return m;
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

std::unique_ptr<registry::ImageSource> open_image_source(const ImageRef& ref,
                                                         const std::filesystem::path& scratch,
                                                         const ProgressLog& log) {
  return open_source(ref, scratch, log);
}

std::string flatten_listing(const ImageRef& ref, const registry::Platform& platform,
                            const std::filesystem::path& scratch, const ProgressLog& log) {
  auto source = open_source(ref, scratch, log);
  const ResolvedImage image = source->resolve(platform);
  source->fetch_layers(image.manifest.layers);
  FileSpool spool(scratch / "content.spool");
  LayerFlattener flattener(spool);
  flatten(*source, image, flattener, log);
  return listing_of(flattener.tree());
}

BuildResult run_build(const BuildSpec& spec, const ProgressLog& log) {
  const auto started = std::chrono::steady_clock::now();
  const registry::Platform platform =
      spec.platform.value_or(registry::Platform::for_arch(arch_name(spec.kernel.arch)));
  auto source = open_source(spec.image, spec.scratch_dir, log);
  BuildResult result;
  result.image = source->resolve(platform);
  log("resolved " + source->name() + " for " + platform.to_string() + ": " +
      std::to_string(result.image.manifest.layers.size()) + " layers, config " +
      short_digest(result.image.config_digest) + "…");
  source->fetch_layers(result.image.manifest.layers);

  const AppConfig app = app_config_for(result.image.config, spec.entrypoint, spec.cmd, spec.env);
  validate_app_config(app);
  FileSpool spool(spec.scratch_dir / "content.spool");
  LayerFlattener flattener(spool, spec.limits);
  flatten(*source, result.image, flattener, log);
  result.xattr_paths = flattener.xattr_paths();
  for (const std::string& p : result.xattr_paths) {
    log("warning: extended attributes of /" + p + " dropped (newc cpio cannot carry them)");
  }
  result.rootfs_listing = listing_of(flattener.tree());

  const RamdiskOptions options;
  const auto app_disk =
      write_ramdisk(spec.scratch_dir / "ramdisk-app.cpio", spec.gzip, [&](ByteSink& out) {
        write_app_ramdisk(flattener.tree(), spool, app, options, out);
      });
  const auto boot_disk =
      write_ramdisk(spec.scratch_dir / "ramdisk-bootstrap.cpio", spec.gzip, [&](ByteSink& out) {
        FileSource init(spec.init);
        std::optional<FileSource> nsm;
        if (spec.kernel.nsm_ko) {
          nsm.emplace(*spec.kernel.nsm_ko);
        }
        write_bootstrap_ramdisk(init, nsm ? &*nsm : nullptr, options, out);
      });
  log("ramdisks written: application " + std::to_string(std::filesystem::file_size(app_disk)) +
      " bytes, bootstrap " + std::to_string(std::filesystem::file_size(boot_disk)) + " bytes");

  EifContents contents;
  contents.arch = spec.kernel.arch;
  contents.cmdline = spec.cmdline.value_or(spec.kernel.cmdline);
  contents.metadata = metadata_for(spec, result.image);
  contents.signer = spec.signer;
  FileSource kernel(spec.kernel.kernel), boot(boot_disk), appfs(app_disk);
  contents.kernel = &kernel;
  contents.ramdisks = {&boot, &appfs};
  AtomicFileWriter out(spec.output);
  result.eif = write_eif(contents, out);
  out.commit();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log("wrote " + spec.output.string() + " (" + std::to_string(result.eif.size) + " bytes) in " +
      std::to_string(seconds).substr(0, 5) + " s");
  return result;
}

} // namespace oci2eif::server
