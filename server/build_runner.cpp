#include "server/build_runner.hpp"

#include "core/eif_describe.hpp"
#include "core/eif_reader.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/sha.hpp"
#include "pipeline/build_pipeline.hpp"
#include "pipeline/image_reference.hpp"
#include "server/build_inputs.hpp"
#include "server/build_request.hpp"
#include "server/local_image_policy.hpp"

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sstream>
#include <unistd.h>

namespace oci2eif::server {
namespace {

using nlohmann::json;

std::string file_digest(const std::filesystem::path& p) {
  FileSource in(p);
  Hasher h(HashAlgorithm::Sha256);
  std::array<std::uint8_t, 1 << 16> buf;
  for (std::size_t n; (n = in.read(buf)) > 0;) {
    h.write(ByteView(buf.data(), n));
  }
  return "sha256:" + to_hex(h.finish());
}

// How long POST may spend resolving an image before it queues the build unresolved.
constexpr std::chrono::seconds kProbeBudget{5};

std::string text_digest(const std::string& s) {
  return "sha256:" + to_hex(sha256(as_bytes(s)));
}

std::map<std::string, std::string> pcr_map(const Measurements& m) {
  std::map<std::string, std::string> out{
      {"PCR0", to_hex(m.pcr0)}, {"PCR1", to_hex(m.pcr1)}, {"PCR2", to_hex(m.pcr2)}};
  if (m.pcr8) {
    out["PCR8"] = to_hex(*m.pcr8);
  }
  return out;
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw_errno("open " + dir.string());
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    throw_errno("fsync " + dir.string());
  }
}

bool is_kernel_name(const std::string& name);

} // namespace

BuildRunner::Kernel BuildRunner::load(const std::string& name, const std::filesystem::path& dir,
                                      const std::string& source) {
  const Arch arch =
      pipeline::bundle_arch(dir).value_or(Arch::X86_64); // neither: load names bzImage
  Kernel kernel{pipeline::load_kernel_bundle(dir, arch), "", {}};
  KernelInfo& info = kernel.info;
  info.name = name;
  info.arch = arch;
  info.source = source;
  info.kernel_sha256 = file_digest(kernel.bundle.kernel);
  info.cmdline = kernel.bundle.cmdline;
  std::string identity = info.kernel_sha256 + "\n" + kernel.bundle.cmdline;
  if (kernel.bundle.config) {
    info.config_sha256 = file_digest(*kernel.bundle.config);
    identity += "\n" + *info.config_sha256;
  }
  if (kernel.bundle.nsm_ko) {
    info.nsm_sha256 = file_digest(*kernel.bundle.nsm_ko);
    identity += "\n" + *info.nsm_sha256;
  }
  kernel.digest = text_digest(identity);
  info.digest = kernel.digest;
  return kernel;
}

BuildRunner::BuildRunner(const ServeConfig& config, const ArtifactStore& artifacts)
    : data_dir_(config.data_dir), registry_(config.registry), local_images_(config.local_images),
      artifacts_(artifacts) {
  registry_.cache_dir = data_dir_ / "cache"; // shared by all builds of this daemon
  registry_.counters = &pull_counters_;      // the API's pre-queue resolution counts too
  for (const KernelDir& k : config.kernels) {
    kernels_.emplace(k.name, load(k.name, k.dir, "configured"));
  }
  if (!config.kernels.empty()) {
    default_kernel_ = config.kernels.front().name;
  }
  std::filesystem::create_directories(data_dir_ / "logs");
  std::filesystem::create_directories(data_dir_ / "scratch");
  std::filesystem::create_directories(data_dir_ / "kernels");
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_ / "kernels")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".")) { // an upload that did not complete
      std::filesystem::remove_all(entry.path());
      continue;
    }
    if (kernels_.count(name) != 0) {
      spdlog::warn("uploaded kernel '{}' is shadowed by the configured one of that name", name);
      continue;
    }
    try {
      kernels_.emplace(name, load(name, entry.path(), "uploaded"));
    } catch (const std::exception& e) {
      spdlog::error("uploaded kernel '{}' not loaded: {}", name, e.what());
    }
  }
  if (default_kernel_.empty() && !kernels_.empty()) {
    default_kernel_ = kernels_.begin()->first;
  }
  for (const SigningKeyFiles& k : config.signing_keys) {
    try {
      EifSigner s = EifSigner::load(k.certificate, k.private_key);
      const std::string pcr8 = to_hex(s.pcr8());
      signers_.emplace(k.name, Signer{std::move(s), pcr8});
    } catch (const Error& e) {
      throw Error(e.code(), "configuration: signing key '" + k.name + "': " + e.what());
    }
  }
}

std::string BuildRunner::signing_key_names() const {
  std::string out;
  for (const auto& [name, s] : signers_) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

const BuildRunner::Signer& BuildRunner::signer(const std::string& name) const {
  const auto it = signers_.find(name);
  if (it == signers_.end()) {
    throw Error(ErrorCode::InvalidInput,
                "field 'signing_key': '" + name +
                    "' is not a configured signing key (configured: " + signing_key_names() + ")");
  }
  return it->second;
}

std::optional<SigningIdentity> BuildRunner::signing_identity(const BuildRequest& req) const {
  if (!req.signing_key) {
    return std::nullopt;
  }
  return SigningIdentity{*req.signing_key, signer(*req.signing_key).pcr8};
}

bool BuildRunner::has_kernel(const std::string& name) const {
  std::lock_guard lock(kernels_mutex_);
  return kernels_.count(name) != 0;
}

std::optional<BuildRunner::Kernel> BuildRunner::find_kernel(const std::string& name) const {
  std::lock_guard lock(kernels_mutex_);
  const auto it = kernels_.find(name);
  if (it == kernels_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<KernelInfo> BuildRunner::kernels() const {
  std::lock_guard lock(kernels_mutex_);
  std::vector<KernelInfo> out;
  for (const auto& [name, k] : kernels_) {
    out.push_back(k.info);
    out.back().is_default = name == default_kernel_;
  }
  return out;
}

std::optional<KernelInfo> BuildRunner::kernel(const std::string& name) const {
  auto k = find_kernel(name);
  if (!k) {
    return std::nullopt;
  }
  k->info.is_default = name == default_kernel_;
  return k->info;
}

namespace {
bool is_kernel_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && name.front() != '.' &&
         name.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
             std::string::npos;
}
} // namespace

KernelInfo BuildRunner::add_kernel(const std::string& name, const KernelUpload& upload) const {
  if (!is_kernel_name(name)) {
    throw Error(ErrorCode::InvalidInput,
                "field 'name': '" + name +
                    "' must be 1-64 of [A-Za-z0-9._-], not starting with '.'");
  }
  if (upload.kernel.empty()) {
    throw Error(ErrorCode::InvalidInput, "field 'kernel': the kernel image is empty");
  }
  const auto root = data_dir_ / "kernels";
  const auto final_dir = root / name;
  const auto temp_dir =
      root / (".upload-" + name + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::lock_guard lock(kernels_mutex_);
  if (kernels_.count(name) != 0 || std::filesystem::exists(final_dir)) {
    throw Error(ErrorCode::InvalidInput,
                "field 'name': a kernel named '" + name + "' already exists; delete it first");
  }
  std::filesystem::create_directories(temp_dir);
  try {
    const std::string image = upload.arch == Arch::Aarch64 ? "Image" : "bzImage";
    const auto put = [&](const std::string& file, const std::string& content) {
      AtomicFileWriter w(temp_dir / file);
      w.write(as_bytes(content));
      w.commit();
    };
    put(image, upload.kernel);
    if (upload.config) {
      put(image + ".config", *upload.config);
    }
    if (upload.nsm_ko) {
      put("nsm.ko", *upload.nsm_ko);
    }
    if (upload.cmdline) {
      put("cmdline", *upload.cmdline + "\n");
    }
    std::filesystem::rename(temp_dir, final_dir);
    fsync_directory(root);
  } catch (...) {
    std::filesystem::remove_all(temp_dir);
    throw;
  }
  Kernel k = load(name, final_dir, "uploaded");
  kernels_.emplace(name, k);
  return k.info;
}

KernelRemoveResult BuildRunner::remove_kernel(const std::string& name) const {
  std::lock_guard lock(kernels_mutex_);
  const auto it = kernels_.find(name);
  if (it == kernels_.end()) {
    return KernelRemoveResult::NotFound;
  }
  if (name == default_kernel_) {
    return KernelRemoveResult::IsDefault;
  }
  if (it->second.info.source != "uploaded") {
    return KernelRemoveResult::Configured;
  }
  kernels_.erase(it);
  // Renamed away first, so a crash never leaves a half-deleted bundle under its name.
  const auto root = data_dir_ / "kernels";
  const auto doomed = root / (".deleted-" + name);
  std::filesystem::remove_all(doomed);
  std::filesystem::rename(root / name, doomed);
  fsync_directory(root);
  std::filesystem::remove_all(doomed);
  return KernelRemoveResult::Removed;
}

pipeline::ImageRef BuildRunner::image_ref(const std::string& image) const {
  pipeline::ImageRef ref = pipeline::parse_image_reference(image);
  check_local_image_allowed(ref, local_images_);
  if (ref.kind == pipeline::SourceKind::Registry) {
    ref.options = registry_;
  }
  return ref;
}

std::optional<EarlyResolution> BuildRunner::resolve_early(const BuildRequest& req) const {
  const std::string kernel_name = req.kernel.value_or(default_kernel_);
  const auto kernel = find_kernel(kernel_name);
  pipeline::ImageRef ref = image_ref(req.image);
  if (!kernel || ref.kind == pipeline::SourceKind::OciArchive ||
      ref.kind == pipeline::SourceKind::DockerArchive) {
    return std::nullopt; // archives are unpacked to be read: the worker resolves those
  }
  // One attempt, no layer prefetch and a short deadline: the caller (and an API thread) is
  // waiting; a registry that does not answer now is the worker's problem, with its retries.
  ref.options.max_attempts = 1;
  ref.options.parallel_downloads = 1;
  // The interrupt is not consulted during a TLS handshake: the request timeouts bound that.
  ref.options.manifest_timeout_ms = ref.options.blob_timeout_ms =
      std::chrono::milliseconds(kProbeBudget).count();
  const auto deadline = std::chrono::steady_clock::now() + kProbeBudget;
  ref.options.interrupt = [deadline] {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ErrorCode::Timeout,
                  "no answer within " + std::to_string(kProbeBudget.count()) + " s");
    }
  };
  try {
    auto source =
        pipeline::open_image_source(ref, data_dir_ / "scratch", [](const std::string&) {});
    const registry::Platform platform =
        req.platform ? registry::Platform::parse(*req.platform)
                     : registry::Platform::for_arch(arch_name(kernel->bundle.arch));
    const registry::ResolvedImage image = source->resolve(platform);
    const auto init = pipeline::default_init_path(kernel->bundle.arch);
    EarlyResolution out;
    out.input_key =
        build_inputs(req, image, {kernel_name, kernel->digest}, file_digest(init),
                     req.cmdline.value_or(kernel->bundle.cmdline), signing_identity(req))
            .key;
    if (const auto* registry = dynamic_cast<const registry::RegistrySource*>(source.get())) {
      out.pinned_digest = registry->resolved_digest();
    }
    return out;
  } catch (const std::exception& e) {
    spdlog::info("image {} not resolved before queueing ({}); the build will resolve it", req.image,
                 e.what());
    return std::nullopt;
  }
}

std::filesystem::path BuildRunner::log_path(const std::string& id) const {
  return data_dir_ / "logs" / (id + ".log");
}

BuildOutcome BuildRunner::run(const BuildRecord& build, const StopCheck& stop) const {
  std::ofstream log(log_path(build.id), std::ios::app);
  log << "attempt " << build.attempts << " by " << build.worker_id << "\n" << std::flush;
  BuildOutcome outcome;
  try {
    outcome = run_or_throw(build, stop, log);
  } catch (...) {
    const Error e = current_error();
    outcome.state = e.code() == ErrorCode::Cancelled ? BuildState::Cancelled : BuildState::Failed;
    outcome.error_code = error_code_name(e.code());
    outcome.error_message = e.what();
  }
  // Scratch first: on a full disk, the space it frees lets the last log line be written.
  std::error_code ec;
  std::filesystem::remove_all(data_dir_ / "scratch" / build.id, ec);
  log << (outcome.state == BuildState::Succeeded
              ? "succeeded"
              : outcome.error_code + ": " + outcome.error_message)
      << "\n"
      << std::flush;
  return outcome;
}

BuildOutcome BuildRunner::run_or_throw(const BuildRecord& build, const StopCheck& stop,
                                       std::ostream& log) const {
  const BuildRequest req = parse_build_request(build.request_json);
  const std::string kernel_name = req.kernel.value_or(default_kernel_);
  const auto kernel = find_kernel(kernel_name);
  if (!kernel) {
    throw Error(ErrorCode::InvalidInput, "kernel '" + kernel_name + "' is not configured");
  }
  BuildOutcome outcome;
  pipeline::BuildSpec spec;
  spec.image = image_ref(req.image);
  spec.image.pinned_digest = build.pinned_digest;
  spec.interrupt = stop;
  spec.kernel = kernel->bundle;
  if (req.platform) {
    spec.platform = registry::Platform::parse(*req.platform);
  }
  spec.cmdline = req.cmdline;
  spec.init = pipeline::default_init_path(spec.kernel.arch);
  spec.entrypoint = req.entrypoint;
  spec.cmd = req.cmd;
  spec.env = req.env;
  spec.gzip = req.compress == "gzip";
  spec.name = req.name;
  spec.version = req.version;
  spec.custom_metadata = req.metadata.value_or(nlohmann::json());
  spec.signer = req.signing_key ? &signer(*req.signing_key).signer : nullptr;
  spec.scratch_dir = data_dir_ / "scratch" / build.id;
  std::filesystem::remove_all(spec.scratch_dir);
  std::filesystem::create_directories(spec.scratch_dir);
  const auto dir = artifacts_.directory(build.id);
  spec.output = dir / "image.eif";

  stop();
  // The pipeline consults `stop` itself; once it returns, the EIF is complete and the build is
  // no longer stopped (its artifacts take a moment).
  const auto log_line = [&](const std::string& line) { log << line << "\n" << std::flush; };
  const pipeline::BuildResult r = pipeline::run_build(spec, log_line);
  outcome.steps = r.steps;
  pipeline::StepTimer steps(outcome.steps, log_line);

  const BuildInputs inputs =
      build_inputs(req, r.image, {kernel_name, kernel->digest}, file_digest(spec.init),
                   spec.cmdline.value_or(spec.kernel.cmdline), signing_identity(req));
  outcome.input_key = inputs.key;
  outcome.image_digest =
      r.image.manifest_digest.empty() ? r.image.config_digest : r.image.manifest_digest;
  outcome.pcrs = pcr_map(r.eif.measurements);

  FileSource eif(spec.output);
  const EifInfo info = read_eif(eif, spec.output.string());
  outcome.artifacts.push_back(artifacts_.info(build.id, "image.eif"));
  outcome.artifacts.push_back(artifacts_.publish(
      build.id, "pcr.json", measurements_document(r.eif.measurements).dump(2) + "\n"));
  outcome.artifacts.push_back(
      artifacts_.publish(build.id, "describe.json", describe_json(info).dump(2) + "\n"));
  outcome.artifacts.push_back(artifacts_.publish(build.id, "rootfs.txt", r.rootfs_listing));
  json outputs = json::array();
  for (const ArtifactInfo& a : outcome.artifacts) {
    outputs.push_back({{"name", a.name}, {"size", a.size}, {"sha256", a.sha256}});
  }
  const json provenance = {{"input_key", outcome.input_key},
                           {"inputs", inputs.inputs},
                           {"options", inputs.options},
                           {"outputs", outputs},
                           {"pcrs", outcome.pcrs}};
  outcome.artifacts.push_back(
      artifacts_.publish(build.id, "build.json", provenance.dump(2) + "\n"));
  steps.mark("artifacts");
  log << "artifacts published\n" << std::flush;
  std::ifstream in(log_path(build.id));
  std::stringstream text;
  text << in.rdbuf();
  outcome.artifacts.push_back(artifacts_.publish(build.id, "build.log", text.str()));
  outcome.state = BuildState::Succeeded;
  return outcome;
}

} // namespace oci2eif::server
