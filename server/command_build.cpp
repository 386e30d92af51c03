#include "core/eif_describe.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "server/build_pipeline.hpp"
#include "server/commands.hpp"

#include <ostream>
#include <random>
#include <unistd.h>

namespace oci2eif::cli {
namespace {

server::ImageRef image_ref(const BuildOptions& o) {
  const int given =
      o.oci_layout.has_value() + o.oci_archive.has_value() + o.docker_archive.has_value();
  if (given != 1) {
    throw Error(ErrorCode::InvalidInput,
                "name exactly one image: --oci-layout DIR[:TAG], --oci-archive FILE[:TAG] or "
                "--docker-archive FILE[:TAG]");
  }
  if (o.oci_layout) {
    return {server::SourceKind::OciLayout, *o.oci_layout};
  }
  if (o.oci_archive) {
    return {server::SourceKind::OciArchive, *o.oci_archive};
  }
  return {server::SourceKind::DockerArchive, *o.docker_archive};
}

// A private scratch directory for one build, removed afterwards (unless the user named one).
class Scratch {
public:
  explicit Scratch(const std::optional<std::filesystem::path>& given) {
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
  ~Scratch() {
    std::error_code ec;
    if (owned_) {
      std::filesystem::remove_all(path_, ec);
    } else {
      for (const auto& e : std::filesystem::directory_iterator(path_, ec)) {
        std::filesystem::remove_all(e.path(), ec);
      }
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
  bool owned_ = false;
};

server::KernelBundle kernel_bundle(const BuildOptions& o, Arch arch) {
  if (o.kernel_dir.has_value() == o.kernel.has_value()) {
    throw Error(ErrorCode::InvalidInput, "give either --kernel-dir DIR or --kernel FILE");
  }
  return o.kernel_dir ? server::load_kernel_bundle(*o.kernel_dir, arch)
                      : server::kernel_bundle_from_files(*o.kernel, o.kernel_config, arch);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  AtomicFileWriter f(path);
  f.write(as_bytes(text));
  f.commit();
}

registry::Platform platform_of(const BuildOptions& o, Arch arch) {
  return o.platform ? registry::Platform::parse(*o.platform)
                    : registry::Platform::for_arch(arch_name(arch));
}

} // namespace

void run_build(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  const Arch arch = parse_arch(o.arch);
  if (o.compress != "none" && o.compress != "gzip") {
    throw Error(ErrorCode::InvalidInput,
                "--compress must be none or gzip, not '" + o.compress + "'");
  }
  if (o.signing_certificate.has_value() != o.private_key.has_value()) {
    throw Error(ErrorCode::InvalidInput,
                "--signing-certificate and --private-key must be given together");
  }
  std::optional<EifSigner> signer;
  if (o.signing_certificate) {
    signer = EifSigner::load(*o.signing_certificate, *o.private_key);
  }
  server::BuildSpec spec;
  spec.image = image_ref(o);
  spec.kernel = kernel_bundle(o, arch);
  spec.platform = platform_of(o, arch);
  spec.cmdline = o.cmdline;
  spec.init = o.init ? *o.init : server::default_init_path(arch);
  if (o.entrypoint_set) {
    spec.entrypoint = o.entrypoint;
  }
  if (o.cmd_set) {
    spec.cmd = o.cmd;
  }
  spec.env = o.env;
  spec.gzip = o.compress == "gzip";
  spec.name = o.name;
  spec.version = o.version;
  spec.build_time = resolve_build_time(o.build_time, o.source_date_epoch);
  spec.signer = signer ? &*signer : nullptr;
  spec.output = o.output;
  Scratch scratch(o.scratch_dir);
  spec.scratch_dir = scratch.path();

  const server::BuildResult r = server::run_build(spec, [&](const std::string& line) {
    log << "oci2eif: " << line << "\n" << std::flush;
  });
  const std::string pcrs = measurements_document(r.eif.measurements).dump(2) + "\n";
  if (o.pcrs) {
    write_text(*o.pcrs, pcrs);
  }
  if (o.rootfs_listing) {
    write_text(*o.rootfs_listing, r.rootfs_listing);
  }
  out << pcrs;
}

void run_rootfs(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  const Arch arch = parse_arch(o.arch);
  Scratch scratch(o.scratch_dir);
  out << server::flatten_listing(
      image_ref(o), platform_of(o, arch), scratch.path(),
      [&](const std::string& line) { log << "oci2eif: " << line << "\n"; });
}

} // namespace oci2eif::cli
