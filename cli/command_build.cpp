#include "cli/commands.hpp"
#include "core/eif_describe.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "pipeline/build_pipeline.hpp"

#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <unistd.h>

namespace oci2eif::cli {
namespace {

pipeline::ImageRef image_ref(const BuildOptions& o) {
  const int given = o.oci_layout.has_value() + o.oci_archive.has_value() +
                    o.docker_archive.has_value() + o.image.has_value();
  if (given != 1) {
    throw Error(ErrorCode::InvalidInput,
                "name exactly one image: --image REF, --oci-layout DIR[:TAG], --oci-archive "
                "FILE[:TAG] or --docker-archive FILE[:TAG]");
  }
  if (o.image) {
    pipeline::ImageRef ref{pipeline::SourceKind::Registry, *o.image, {}, {}};
    ref.options.insecure_registries = o.insecure_registries;
    ref.options.extra_ca_file = o.registry_ca ? o.registry_ca->string() : "";
    if (o.cache_dir) {
      ref.options.cache_dir = *o.cache_dir;
    }
    ref.options.blob_timeout_ms = o.blob_timeout_seconds * 1000;
    for (const std::string& m : o.registry_mirrors) {
      ref.options.mirrors.push_back(registry::parse_mirror(m));
    }
    ref.options.parallel_downloads = o.parallel_downloads;
    return ref;
  }
  if (o.oci_layout) {
    return {pipeline::SourceKind::OciLayout, *o.oci_layout, {}, {}};
  }
  if (o.oci_archive) {
    return {pipeline::SourceKind::OciArchive, *o.oci_archive, {}, {}};
  }
  return {pipeline::SourceKind::DockerArchive, *o.docker_archive, {}, {}};
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

pipeline::KernelBundle kernel_bundle(const BuildOptions& o, Arch arch) {
  if (o.kernel_dir.has_value() == o.kernel.has_value()) {
    throw Error(ErrorCode::InvalidInput, "give either --kernel-dir DIR or --kernel FILE");
  }
  return o.kernel_dir ? pipeline::load_kernel_bundle(*o.kernel_dir, arch)
                      : pipeline::kernel_bundle_from_files(*o.kernel, o.kernel_config, arch);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  AtomicFileWriter f(path);
  f.write(as_bytes(text));
  f.commit();
}

// --arch when given; else the kernel bundle's (a nitro-cli blobs directory holds one kernel,
// bzImage or Image, so it names the architecture); else x86_64.
Arch enclave_arch(const BuildOptions& o) {
  if (o.arch) {
    return parse_arch(*o.arch);
  }
  if (o.kernel_dir) {
    return pipeline::bundle_arch(*o.kernel_dir).value_or(Arch::X86_64);
  }
  return Arch::X86_64;
}

registry::Platform platform_of(const BuildOptions& o, Arch arch) {
  return o.platform ? registry::Platform::parse(*o.platform)
                    : registry::Platform::for_arch(arch_name(arch));
}

} // namespace

void run_build(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  const Arch arch = enclave_arch(o);
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
  pipeline::BuildSpec spec;
  spec.image = image_ref(o);
  spec.kernel = kernel_bundle(o, arch);
  spec.platform = platform_of(o, arch);
  spec.cmdline = o.cmdline;
  spec.init = o.init ? *o.init : pipeline::default_init_path(arch);
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
  if (o.metadata) {
    spec.custom_metadata = parse_custom_metadata(
        read_small_file(*o.metadata, kMaxCustomMetadataSize + 1), o.metadata->string());
  }
  spec.build_time = resolve_build_time(o.build_time, o.source_date_epoch);
  spec.signer = signer ? &*signer : nullptr;
  spec.output = o.output;
  Scratch scratch(o.scratch_dir);
  spec.scratch_dir = scratch.path();

  const pipeline::BuildResult r = pipeline::build_eif(spec, [&](const std::string& line) {
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
  const Arch arch = enclave_arch(o);
  Scratch scratch(o.scratch_dir);
  out << pipeline::flatten_listing(
      image_ref(o), platform_of(o, arch), scratch.path(),
      [&](const std::string& line) { log << "oci2eif: " << line << "\n"; });
}

namespace {

void write_layout_blob(const std::filesystem::path& dir, const std::string& digest, ByteView data) {
  AtomicFileWriter f(dir / "blobs" / "sha256" / digest.substr(7));
  f.write(data);
  f.commit();
}

} // namespace

void run_pull(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  if (!o.image || o.oci_layout || o.oci_archive || o.docker_archive) {
    throw Error(ErrorCode::InvalidInput, "pull takes an image reference and --oci-layout DIR");
  }
  const Arch arch = enclave_arch(o);
  pipeline::ImageRef ref = image_ref(o);
  ref.options.log = [&](const std::string& line) { log << "oci2eif: " << line << "\n"; };
  auto source = registry::open_registry(registry::Reference::parse(ref.location), ref.options);
  const registry::Platform platform = platform_of(o, arch);
  const registry::ResolvedImage image = source->resolve(platform);
  source->fetch_layers(image.manifest.layers);
  const std::filesystem::path dir = o.output;
  std::filesystem::create_directories(dir / "blobs" / "sha256");
  const auto [type, manifest] = source->manifest_bytes(image.manifest_digest);
  write_layout_blob(dir, image.manifest_digest, manifest);
  std::vector<registry::Descriptor> blobs = image.manifest.layers;
  blobs.push_back(image.manifest.config);
  for (const registry::Descriptor& d : blobs) {
    const std::filesystem::path target = dir / "blobs" / "sha256" / d.digest.substr(7);
    std::filesystem::copy_file(source->blob_file(d), target,
                               std::filesystem::copy_options::overwrite_existing);
  }
  const std::string tag = source->reference().tag.empty() ? "latest" : source->reference().tag;
  nlohmann::json entry = {{"mediaType", type},
                          {"digest", image.manifest_digest},
                          {"size", manifest.size()},
                          {"annotations", {{"org.opencontainers.image.ref.name", tag}}}};
  const nlohmann::json index = {{"schemaVersion", 2},
                                {"mediaType", registry::media_type::kOciIndex},
                                {"manifests", nlohmann::json::array({entry})}};
  write_text(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  write_text(dir / "index.json", index.dump());
  const nlohmann::json result = {{"reference", source->reference().to_string()},
                                 {"digest", source->resolved_digest()},
                                 {"platform", platform.to_string()},
                                 {"manifest", image.manifest_digest},
                                 {"ociLayout", dir.string() + ":" + tag}};
  out << result.dump(2) << "\n";
}

} // namespace oci2eif::cli
