// `oci2eif build`: an image and a kernel bundle to an EIF, its measurements on stdout.
#include "cli/commands.hpp"
#include "cli/image_options.hpp"
#include "core/digest.hpp"
#include "core/eif_describe.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "pipeline/build_pipeline.hpp"
#include "pipeline/build_provenance.hpp"
#include "pipeline/eif_publisher.hpp"
#include "pipeline/image_reference.hpp"
#include "pipeline/kernel_bundle.hpp"
#include "pipeline/pkcs11_key.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

namespace oci2eif::cli {
namespace {

pipeline::KernelBundle kernel_bundle(const BuildOptions& o, Arch arch) {
  if (o.kernel_dir && o.kernel) {
    throw Error(ErrorCode::InvalidInput, "give either --kernel-dir DIR or --kernel FILE");
  }
  if (!o.kernel_dir && !o.kernel) { // as nitro-cli: its blobs directory
    if (!pipeline::bundle_arch(o.nitro_cli_blobs)) {
      throw Error(ErrorCode::InvalidInput,
                  "no kernel: give --kernel-dir DIR or --kernel FILE (nitro-cli's blobs "
                  "directory " +
                      o.nitro_cli_blobs.string() + " holds no bzImage or Image)");
    }
    return pipeline::load_kernel_bundle(o.nitro_cli_blobs, arch);
  }
  return o.kernel_dir ? pipeline::load_kernel_bundle(*o.kernel_dir, arch)
                      : pipeline::kernel_bundle_from_files(*o.kernel, o.kernel_config, arch);
}

} // namespace

void set_image_source(BuildOptions& o, const std::string& uri) {
  const pipeline::ImageRef ref = pipeline::parse_image_reference(uri);
  switch (ref.kind) {
  case pipeline::SourceKind::Registry:
    o.image = ref.location;
    return;
  case pipeline::SourceKind::OciLayout:
    o.oci_layout = ref.location;
    return;
  case pipeline::SourceKind::OciArchive:
    o.oci_archive = ref.location;
    return;
  case pipeline::SourceKind::DockerArchive:
    o.docker_archive = ref.location;
    return;
  }
}

namespace {

// The request as the provenance records it (externalParameters): what the caller chose, with
// the defaults it left resolved, so the statement says what was built without the command line.
nlohmann::ordered_json build_parameters(const BuildOptions& o, const pipeline::BuildSpec& spec) {
  nlohmann::ordered_json p{{"image", pipeline::image_reference_text(spec.image)},
                           {"arch", std::string(arch_name(spec.kernel.arch))},
                           {"cmdline", spec.cmdline.value_or(spec.kernel.cmdline)}};
  if (spec.entrypoint) {
    p["entrypoint"] = *spec.entrypoint;
  }
  if (spec.cmd) {
    p["cmd"] = *spec.cmd;
  }
  if (!spec.env.empty()) {
    p["env"] = spec.env;
  }
  p["compress"] = o.compress;
  p["build_time"] = spec.build_time;
  return p;
}

// Options that contradict each other, refused before any work.
void check_build_options(const BuildOptions& o) {
  if (o.compress != "none" && o.compress != "gzip") {
    throw Error(ErrorCode::InvalidInput,
                "--compress must be none or gzip, not '" + o.compress + "'");
  }
  if (o.signing_certificate.has_value() != o.private_key.has_value()) {
    throw Error(ErrorCode::InvalidInput,
                "--signing-certificate and --private-key must be given together");
  }
  if (o.push) { // a malformed target is refused before the build
    try {
      registry::Reference::parse(*o.push);
    } catch (const Error& e) {
      throw Error(ErrorCode::InvalidInput, std::string("--push: ") + e.what());
    }
  }
  if (o.provenance && !o.signing_certificate) {
    throw Error(ErrorCode::InvalidInput,
                "--provenance is signed with the EIF's key: give --signing-certificate and "
                "--private-key too");
  }
}

// The signed provenance line of the build, written to --provenance.
std::string write_provenance(const BuildOptions& o, const pipeline::BuildSpec& spec,
                             const pipeline::BuildResult& r, const EifSigner& signer) {
  const pipeline::ProvenanceContext context{build_parameters(o, spec), pipeline::kCliBuilderId, ""};
  const auto inputs = pipeline::build_provenance(spec, r, sha256_file_digest(spec.output), context);
  std::string line = pipeline::signed_provenance_line(inputs, signer);
  write_text(*o.provenance, line);
  return line;
}

// --push: the EIF (and its provenance) to the registry, with the same registry options as the
// image's pull; what was pushed goes to the log, stdout keeps the measurements alone.
void push_built_eif(const BuildOptions& o, const pipeline::BuildSpec& spec,
                    const pipeline::BuildResult& r, std::optional<std::string> provenance,
                    std::ostream& log) {
  pipeline::EifPush push;
  push.target = registry::Reference::parse(*o.push);
  push.subject = pipeline::push_subject(spec.image, r.image, push.target);
  push.provenance = std::move(provenance);
  registry::RegistryOptions options = registry_options(o);
  options.log = [&log](const std::string& line) { log << line << "\n" << std::flush; };
  const nlohmann::ordered_json pushed = pipeline::pushed_json(pipeline::push_eif(
      spec.output, pipeline::eif_artifact_of(pipeline::check_eif(spec.output, r.eif.measurements)),
      push, options));
  log << "pushed " << pushed.dump() << "\n" << std::flush;
}

} // namespace

void run_build(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  const Arch arch = enclave_arch(o);
  check_build_options(o);
  std::optional<EifSigner> signer;
  if (o.signing_certificate) {
    signer = pipeline::load_eif_signer(*o.signing_certificate, o.private_key->string());
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
  spec.limits = {o.max_image_mb << 20, o.max_image_entries, o.max_build_memory_mb << 20};
  spec.max_eif_bytes = o.max_eif_mb << 20;
  spec.name = o.name;
  spec.version = o.version;
  if (o.metadata) {
    spec.custom_metadata = parse_custom_metadata(
        read_small_file(*o.metadata, kMaxCustomMetadataSize + 1), o.metadata->string());
  }
  spec.build_time = resolve_build_time(o.build_time, o.source_date_epoch);
  spec.signer = signer ? &*signer : nullptr;
  spec.output = o.output;
  spec.threads = o.threads;
  spec.rootfs_listing = o.rootfs_listing.has_value();
  Scratch scratch(o.scratch_dir);
  spec.scratch_dir = scratch.path();

  const auto display = progress_display(o, log);
  spec.progress = display->observer();
  const pipeline::BuildResult r = pipeline::build_eif(spec, display->log_function());
  const std::string pcrs = measurements_document(r.eif.measurements).dump(2) + "\n";
  if (o.pcrs) {
    write_text(*o.pcrs, pcrs);
  }
  if (o.rootfs_listing) {
    write_text(*o.rootfs_listing, r.rootfs_listing);
  }
  std::optional<std::string> provenance;
  if (o.provenance) {
    provenance = write_provenance(o, spec, r, *signer);
  }
  if (o.push) {
    push_built_eif(o, spec, r, std::move(provenance), log);
  }
  out << pcrs;
}

} // namespace oci2eif::cli
