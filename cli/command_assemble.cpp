#include "cli/commands.hpp"
#include "core/eif_describe.hpp"
#include "core/eif_writer.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "pipeline/parallel_tasks.hpp"
#include "pipeline/pkcs11_key.hpp"
#include "pipeline/version.hpp"

#include <memory>
#include <ostream>

namespace oci2eif::cli {
namespace {

constexpr std::size_t kMaxKernelConfigSize = 16 << 20;

EifMetadata metadata_for(const AssembleOptions& o) {
  EifMetadata m;
  m.image_name = o.name.value_or(o.kernel.filename().string());
  m.image_version = o.version.value_or("1.0");
  m.build.build_time = resolve_build_time(o.build_time, o.source_date_epoch);
  m.build.build_tool = o.build_tool;
  m.build.build_tool_version =
      o.build_tool_version.empty() ? std::string(pipeline::kVersion) : o.build_tool_version;
  KernelIdentity identity{"OS", "kernel"};
  if (o.kernel_config) {
    const Bytes text = read_small_file(*o.kernel_config, kMaxKernelConfigSize);
    identity = kernel_identity_from_config(as_chars(text));
  }
  m.build.operating_system = o.img_os.value_or(identity.operating_system);
  m.build.kernel_version = o.img_kernel.value_or(identity.kernel_version);
  if (o.metadata) {
    const Bytes custom = read_small_file(*o.metadata, kMaxCustomMetadataSize);
    m.custom_metadata = parse_custom_metadata(custom, o.metadata->string());
  }
  return m;
}

std::optional<EifSigner> signer_for(const AssembleOptions& o) {
  if (o.signing_certificate.has_value() != o.private_key.has_value()) {
    throw Error(ErrorCode::InvalidInput,
                "--signing-certificate and --private-key must be given together");
  }
  if (!o.signing_certificate) {
    return std::nullopt;
  }
  return pipeline::load_eif_signer(*o.signing_certificate, o.private_key->string());
}

} // namespace

std::string resolve_build_time(const std::optional<std::string>& explicit_time,
                               const std::optional<std::string>& source_date_epoch) {
  if (explicit_time) {
    return *explicit_time;
  }
  if (source_date_epoch && !source_date_epoch->empty()) {
    std::size_t used = 0;
    long long seconds = -1;
    try {
      seconds = std::stoll(*source_date_epoch, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != source_date_epoch->size() || seconds < 0) {
      throw Error(ErrorCode::InvalidInput, "SOURCE_DATE_EPOCH='" + *source_date_epoch +
                                               "' is not a non-negative number of seconds");
    }
    return rfc3339_utc(seconds);
  }
  return rfc3339_utc(0);
}

void run_assemble(const AssembleOptions& o, std::ostream& out, std::ostream& log) {
  // Everything that can fail on bad input is checked before the output file is created.
  const std::optional<EifSigner> signer = signer_for(o);
  EifContents contents;
  contents.arch = parse_arch(o.arch);
  contents.cmdline = o.cmdline;
  contents.metadata = metadata_for(o);
  contents.signer = signer ? &*signer : nullptr;
  FileSource kernel(o.kernel);
  contents.kernel = &kernel;
  std::vector<std::unique_ptr<FileSource>> ramdisks;
  for (const auto& path : o.ramdisks) {
    ramdisks.push_back(std::make_unique<FileSource>(path));
    contents.ramdisks.push_back(ramdisks.back().get());
  }

  pipeline::ParallelTasks tasks(o.threads != 0 ? o.threads : pipeline::threads_per_build(1));
  contents.run_all = tasks.runner();
  AtomicFileWriter file(o.output);
  const EifWriteResult result = write_eif(contents, file);
  file.commit();
  log << "oci2eif: wrote " << o.output.string() << " (" << result.size << " bytes, "
      << result.sections.size() << " sections" << (signer ? ", signed" : "") << ")\n";
  out << measurements_document(result.measurements).dump(2) << "\n";
}

} // namespace oci2eif::cli
