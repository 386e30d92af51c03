#include "server/build_runner.hpp"

#include "core/eif_describe.hpp"
#include "core/eif_reader.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/sha.hpp"
#include "server/build_pipeline.hpp"
#include "server/build_request.hpp"
#include "server/image_reference.hpp"
#include "server/version.hpp"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

// Step timer: records how long each named step took.
class Steps {
public:
  explicit Steps(std::vector<StepTiming>& out) : out_(out) {}
  void mark(const std::string& step) {
    const auto now = std::chrono::steady_clock::now();
    out_.push_back({step, std::chrono::duration<double>(now - last_).count()});
    last_ = now;
  }

private:
  std::vector<StepTiming>& out_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

} // namespace

BuildRunner::BuildRunner(const ServeConfig& config, const ArtifactStore& artifacts)
    : data_dir_(config.data_dir), artifacts_(artifacts) {
  for (const KernelDir& k : config.kernels) {
    const Arch arch =
        std::filesystem::is_regular_file(k.dir / "bzImage") ? Arch::X86_64 : Arch::Aarch64;
    Kernel kernel{load_kernel_bundle(k.dir, arch), ""};
    std::string identity = file_digest(kernel.bundle.kernel) + "\n" + kernel.bundle.cmdline;
    if (kernel.bundle.config) {
      identity += "\n" + file_digest(*kernel.bundle.config);
    }
    if (kernel.bundle.nsm_ko) {
      identity += "\n" + file_digest(*kernel.bundle.nsm_ko);
    }
    kernel.digest = text_digest(identity);
    kernels_.emplace(k.name, std::move(kernel));
  }
  if (!config.kernels.empty()) {
    default_kernel_ = config.kernels.front().name;
  }
  std::filesystem::create_directories(data_dir_ / "logs");
  std::filesystem::create_directories(data_dir_ / "scratch");
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
  } catch (const Error& e) {
    outcome.state = e.code() == ErrorCode::Cancelled ? BuildState::Cancelled : BuildState::Failed;
    outcome.error_code = error_code_name(e.code());
    outcome.error_message = e.what();
  } catch (const std::exception& e) {
    outcome.state = BuildState::Failed;
    outcome.error_code = "io";
    outcome.error_message = e.what();
  }
  log << (outcome.state == BuildState::Succeeded
              ? "succeeded"
              : outcome.error_code + ": " + outcome.error_message)
      << "\n"
      << std::flush;
  std::error_code ec;
  std::filesystem::remove_all(data_dir_ / "scratch" / build.id, ec);
  return outcome;
}

BuildOutcome BuildRunner::run_or_throw(const BuildRecord& build, const StopCheck& stop,
                                       std::ostream& log) const {
  const BuildRequest req = parse_build_request(build.request_json);
  const std::string kernel_name = req.kernel.value_or(default_kernel_);
  const auto kernel = kernels_.find(kernel_name);
  if (kernel == kernels_.end()) {
    throw Error(ErrorCode::InvalidInput, "kernel '" + kernel_name + "' is not configured");
  }
  BuildOutcome outcome;
  Steps steps(outcome.steps);
  BuildSpec spec;
  spec.image = parse_image_reference(req.image);
  if (spec.image.kind == SourceKind::Registry) {
    spec.image.options.cache_dir = data_dir_ / "cache"; // shared by all builds of this daemon
  }
  spec.kernel = kernel->second.bundle;
  if (req.platform) {
    spec.platform = registry::Platform::parse(*req.platform);
  }
  spec.cmdline = req.cmdline;
  spec.init = default_init_path(spec.kernel.arch);
  spec.entrypoint = req.entrypoint;
  spec.cmd = req.cmd;
  spec.env = req.env;
  spec.gzip = req.compress == "gzip";
  spec.name = req.name;
  spec.version = req.version;
  spec.scratch_dir = data_dir_ / "scratch" / build.id;
  std::filesystem::remove_all(spec.scratch_dir);
  std::filesystem::create_directories(spec.scratch_dir);
  const auto dir = artifacts_.directory(build.id);
  spec.output = dir / "image.eif";

  stop();
  const BuildResult r = run_build(spec, [&](const std::string& line) {
    log << line << "\n" << std::flush;
    stop();
  });
  steps.mark("build");

  json inputs = {{"image",
                  {{"reference", req.image},
                   {"manifest_digest", r.image.manifest_digest},
                   {"config_digest", r.image.config_digest},
                   {"platform", r.image.config.platform.to_string()}}},
                 {"kernel", {{"name", kernel_name}, {"digest", kernel->second.digest}}},
                 {"init", {{"digest", file_digest(spec.init)}}},
                 {"cmdline", spec.cmdline.value_or(spec.kernel.cmdline)},
                 {"tool", {{"name", "oci2eif"}, {"version", kVersion}}}};
  json options = json::parse(to_json(req));
  options.erase("labels");
  options.erase("image");
  options.erase("kernel");
  outcome.input_key = text_digest(json{{"inputs", inputs}, {"options", options}}.dump());
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
                           {"inputs", inputs},
                           {"options", options},
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
