#include "cli/image_options.hpp"

#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "pipeline/kernel_bundle.hpp"

#include <random>
#include <unistd.h>

namespace oci2eif::cli {

registry::RegistryOptions registry_options(const BuildOptions& o) {
  registry::RegistryOptions options;
  options.insecure_registries = o.insecure_registries;
  options.extra_ca_file = o.registry_ca ? o.registry_ca->string() : "";
  if (o.cache_dir) {
    options.cache_dir = *o.cache_dir;
  }
  options.blob_timeout_ms = o.blob_timeout_seconds * 1000;
  for (const std::string& m : o.registry_mirrors) {
    options.mirrors.push_back(registry::parse_mirror(m));
  }
  options.parallel_downloads = o.parallel_downloads;
  return options;
}

pipeline::ImageRef image_ref(const BuildOptions& o) {
  const int given = o.oci_layout.has_value() + o.oci_archive.has_value() +
                    o.docker_archive.has_value() + o.image.has_value();
  if (given != 1) {
    throw Error(ErrorCode::InvalidInput,
                "name exactly one image: --image REF, --oci-layout DIR[:TAG], --oci-archive "
                "FILE[:TAG] or --docker-archive FILE[:TAG]");
  }
  if (o.image) {
    return {pipeline::SourceKind::Registry, *o.image, registry_options(o), {}, {}};
  }
  if (o.oci_layout) {
    return {pipeline::SourceKind::OciLayout, *o.oci_layout, {}, {}, {}};
  }
  if (o.oci_archive) {
    return {pipeline::SourceKind::OciArchive, *o.oci_archive, {}, {}, {}};
  }
  return {pipeline::SourceKind::DockerArchive, *o.docker_archive, {}, {}, {}};
}

Arch enclave_arch(const BuildOptions& o) {
  if (o.arch) {
    return parse_arch(*o.arch);
  }
  if (o.kernel_dir) {
    return pipeline::bundle_arch(*o.kernel_dir).value_or(Arch::X86_64);
  }
  if (!o.kernel) { // the kernel comes from nitro-cli's blobs directory
    return pipeline::bundle_arch(o.nitro_cli_blobs).value_or(Arch::X86_64);
  }
  return Arch::X86_64;
}

registry::Platform platform_of(const BuildOptions& o, Arch arch) {
  return o.platform ? registry::Platform::parse(*o.platform)
                    : registry::Platform::for_arch(arch_name(arch));
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  AtomicFileWriter f(path);
  f.write(as_bytes(text));
  f.commit();
}

Scratch::Scratch(const std::optional<std::filesystem::path>& given) {
  if (given) {
    path_ = *given;
    std::filesystem::create_directories(path_);
    if (!std::filesystem::is_empty(path_)) {
      throw Error(ErrorCode::InvalidInput, "--scratch-dir " + path_.string() + " must be empty");
    }
    return;
  }
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("oci2eif-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directory(path_);
  owned_ = true;
}

Scratch::~Scratch() {
  std::error_code ec;
  if (owned_) {
    std::filesystem::remove_all(path_, ec);
  } else {
    for (const auto& e : std::filesystem::directory_iterator(path_, ec)) {
      std::filesystem::remove_all(e.path(), ec);
    }
  }
}

std::unique_ptr<ProgressDisplay> progress_display(const BuildOptions& o, std::ostream& log) {
  return std::make_unique<ProgressDisplay>(
      progress_mode(o.progress, o.quiet, o.terminal.has_value()), log, o.terminal.value_or(80));
}

} // namespace oci2eif::cli
