#include "server/build_runner.hpp"

#include "core/digest.hpp"
#include "core/eif_describe.hpp"
#include "core/error.hpp"
#include "core/pcr.hpp"
#include "pipeline/build_pipeline.hpp"
#include "pipeline/build_provenance.hpp"
#include "pipeline/eif_publisher.hpp"
#include "pipeline/image_reference.hpp"
#include "pipeline/parallel_tasks.hpp"
#include "registry/reference.hpp"
#include "server/build_inputs.hpp"
#include "server/build_log_stream.hpp"
#include "server/build_request.hpp"
#include "server/local_image_policy.hpp"
#include "server/push_targets.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace oci2eif::server {
namespace {

using nlohmann::json;

// How long POST may spend resolving an image before it queues the build unresolved.
constexpr std::chrono::seconds kProbeBudget{5};

// One attempt, no layer prefetch and a short deadline: the caller (and an API thread) is
// waiting; a registry that does not answer now is the worker's problem, with its retries.
void limit_to_probe(registry::RegistryOptions& options) {
  options.max_attempts = 1;
  options.parallel_downloads = 1;
  // The interrupt is not consulted during a TLS handshake: the request timeouts bound that.
  options.manifest_timeout_ms = options.blob_timeout_ms =
      std::chrono::milliseconds(kProbeBudget).count();
  const auto deadline = std::chrono::steady_clock::now() + kProbeBudget;
  options.interrupt = [deadline] {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ErrorCode::Timeout,
                  "no answer within " + std::to_string(kProbeBudget.count()) + " s");
    }
  };
}

} // namespace

BuildRunner::BuildRunner(const ServeConfig& config, KernelCatalog& kernels, const SigningKeys& keys,
                         ArtifactStore& artifacts, BuildLogStore& logs)
    : data_dir_(config.data_dir), registry_(config.registry), local_images_(config.local_images),
      push_targets_(config.push_targets), image_limits_(config.image_limits),
      max_eif_bytes_(config.max_eif_bytes),
      threads_per_build_(pipeline::threads_per_build(config.workers)), kernels_(kernels),
      keys_(keys), artifacts_(artifacts), logs_(logs) {
  registry_.cache_dir = data_dir_ / "cache"; // shared by all builds of this daemon
  registry_.counters = &pull_counters_;      // the API's pre-queue resolution counts too
  std::filesystem::create_directories(data_dir_ / "scratch");
}

CatalogKernel BuildRunner::kernel_for(const BuildRequest& req) {
  const std::string name = req.kernel.value_or(kernels_.default_name());
  auto kernel = kernels_.resolve(name);
  if (!kernel) {
    throw Error(ErrorCode::InvalidInput, "kernel '" + name + "' is not configured");
  }
  return std::move(*kernel);
}

pipeline::ImageRef BuildRunner::image_ref(const std::string& image) const {
  pipeline::ImageRef ref = pipeline::parse_image_reference(image);
  ref.local_root = allowed_local_root(ref, local_images_);
  if (ref.kind == pipeline::SourceKind::Registry) {
    ref.options = registry_;
  }
  return ref;
}

std::optional<EarlyResolution> BuildRunner::resolve_early(const BuildRequest& req) {
  const auto kernel = kernels_.resolve(req.kernel.value_or(kernels_.default_name()));
  pipeline::ImageRef ref = image_ref(req.image);
  if (!kernel || ref.kind == pipeline::SourceKind::OciArchive ||
      ref.kind == pipeline::SourceKind::DockerArchive) {
    return std::nullopt; // archives are unpacked to be read: the worker resolves those
  }
  const std::string domain = ref.kind == pipeline::SourceKind::Registry
                                 ? registry::Reference::parse(ref.location).domain
                                 : std::string();
  if (!domain.empty() && silent_registries_.skip(domain, std::chrono::steady_clock::now())) {
    spdlog::info("image {} not resolved before queueing: {} did not answer the last probe; the "
                 "build will resolve it",
                 req.image, domain);
    return std::nullopt;
  }
  limit_to_probe(ref.options);
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
        build_inputs(req, image, {kernel->info.name, kernel->info.digest}, sha256_file_digest(init),
                     req.cmdline.value_or(kernel->bundle.cmdline), keys_.identity(req))
            .key;
    if (const auto* registry = dynamic_cast<const registry::RegistrySource*>(source.get())) {
      out.pinned_digest = registry->resolved_digest();
      silent_registries_.answered(domain);
    }
    return out;
  } catch (...) {
    const Error e = current_error();
    if (e.code() == ErrorCode::Timeout && !domain.empty()) {
      silent_registries_.silent(domain, std::chrono::steady_clock::now());
    }
    spdlog::info("image {} not resolved before queueing ({}); the build will resolve it", req.image,
                 e.what());
    return std::nullopt;
  }
}

void BuildRunner::forget(const std::string& build_id) const {
  if (!is_build_id(build_id)) {
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(data_dir_ / "scratch" / build_id, ec);
}

BuildOutcome BuildRunner::run(const BuildRecord& build, const Interrupt& stop) {
  BuildLogStream log(logs_, build.id);
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

pipeline::BuildSpec BuildRunner::spec_for(const BuildRecord& build, const BuildRequest& req,
                                          const CatalogKernel& kernel) const {
  pipeline::BuildSpec spec;
  spec.image = image_ref(req.image);
  spec.image.pinned_digest = build.pinned_digest;
  spec.kernel = kernel.bundle;
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
  spec.signer = req.signing_key ? &keys_.signer(*req.signing_key) : nullptr;
  spec.limits = image_limits_;
  spec.max_eif_bytes = max_eif_bytes_;
  spec.threads = threads_per_build_;
  spec.scratch_dir = data_dir_ / "scratch" / build.id;
  spec.output = spec.scratch_dir / "image.eif"; // published (moved) once the build succeeded
  return spec;
}

std::string BuildRunner::provenance_line(const BuildRecord& build, const pipeline::BuildSpec& spec,
                                         const pipeline::BuildResult& r,
                                         const std::string& eif_sha256) const {
  pipeline::ProvenanceContext context;
  context.external_parameters = nlohmann::ordered_json::parse(build.request_json);
  context.builder_id = pipeline::kServiceBuilderId;
  context.invocation_id = build.id;
  const ProvenanceInputs inputs = pipeline::build_provenance(spec, r, eif_sha256, context);
  return pipeline::signed_provenance_line(inputs, *spec.signer);
}

PushedOutputs BuildRunner::push_outputs(const BuildRecord& build, const BuildRequest& req,
                                        const pipeline::BuildSpec& spec,
                                        const pipeline::BuildResult& r,
                                        const pipeline::CheckedEif& eif,
                                        const pipeline::ProgressLog& log) const {
  PushedOutputs out;
  const registry::Artifact artifact = pipeline::eif_artifact_of(eif);
  if (spec.signer != nullptr) {
    out.provenance_line = provenance_line(build, spec, r, artifact.layer.digest);
  }
  pipeline::EifPush push{registry::Reference::parse(*req.push), {}, out.provenance_line};
  push.subject = pipeline::push_subject(spec.image, r.image, push.target);
  registry::RegistryOptions options = registry_;
  options.log = log;
  options.interrupt = spec.interrupt;
  const auto pushed =
      pipeline::pushed_json(pipeline::push_eif(spec.output, artifact, push, options));
  log("pushed " + pushed.dump());
  out.push_json = pushed.dump(2) + "\n";
  return out;
}

void BuildRunner::publish_outputs(const BuildRecord& build, const pipeline::BuildSpec& spec,
                                  const pipeline::BuildResult& r, const pipeline::CheckedEif& eif,
                                  const BuildInputs& inputs, const PushedOutputs& pushed,
                                  BuildOutcome& outcome) {
  const std::string& build_id = build.id;
  outcome.artifacts.push_back(
      artifacts_.publish_file(build_id, "image.eif", spec.output, eif.sha256));
  if (spec.signer != nullptr) {
    const std::string line = pushed.provenance_line
                                 ? *pushed.provenance_line
                                 : provenance_line(build, spec, r, outcome.artifacts.back().sha256);
    outcome.artifacts.push_back(artifacts_.publish(build_id, "provenance.intoto.jsonl", line));
  }
  if (pushed.push_json) {
    outcome.artifacts.push_back(artifacts_.publish(build_id, "push.json", *pushed.push_json));
  }
  outcome.artifacts.push_back(artifacts_.publish(
      build_id, "pcr.json", measurements_document(r.eif.measurements).dump(2) + "\n"));
  outcome.artifacts.push_back(
      artifacts_.publish(build_id, "describe.json", describe_json(eif.info).dump(2) + "\n"));
  outcome.artifacts.push_back(artifacts_.publish(build_id, "rootfs.txt", r.rootfs_listing));
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
      artifacts_.publish(build_id, "build.json", provenance.dump(2) + "\n"));
}

BuildOutcome BuildRunner::run_or_throw(const BuildRecord& build, const Interrupt& stop,
                                       std::ostream& log) {
  const BuildRequest req = parse_build_request(build.request_json);
  if (req.push) { // again: the configuration may have changed since the POST
    check_push_allowed(push_targets_, *req.push);
  }
  const CatalogKernel kernel = kernel_for(req);
  BuildOutcome outcome;
  pipeline::BuildSpec spec = spec_for(build, req, kernel);
  spec.interrupt = stop;
  std::filesystem::remove_all(spec.scratch_dir);
  std::filesystem::create_directories(spec.scratch_dir);

  stop();
  // The pipeline consults `stop` itself; once it returns, the EIF is complete and the build is
  // no longer stopped (its artifacts take a moment).
  const auto log_line = [&](const std::string& line) { log << line << "\n" << std::flush; };
  const pipeline::BuildResult r = pipeline::build_eif(spec, log_line);
  outcome.steps = r.steps;
  pipeline::StepTimer steps(outcome.steps, log_line);

  const BuildInputs inputs = build_inputs(
      req, r.image, {kernel.info.name, kernel.info.digest}, sha256_file_digest(spec.init),
      spec.cmdline.value_or(spec.kernel.cmdline), keys_.identity(req));
  outcome.input_key = inputs.key;
  outcome.image_digest =
      r.image.manifest_digest.empty() ? r.image.config_digest : r.image.manifest_digest;
  outcome.pcrs = pcr_hex_map(r.eif.measurements);

  // The file is checked, but not hashed for the PCRs just measured.
  const pipeline::CheckedEif eif = pipeline::check_eif(spec.output, r.eif.measurements);
  PushedOutputs pushed;
  if (req.push) {
    pushed = push_outputs(build, req, spec, r, eif, log_line);
    steps.mark("push");
  }
  publish_outputs(build, spec, r, eif, inputs, pushed, outcome);
  steps.mark("artifacts");
  log << "artifacts published\n" << std::flush;
  // The whole log, earlier attempts included, as the store holds it.
  outcome.artifacts.push_back(
      artifacts_.publish(build.id, "build.log", read_whole_log(logs_, build.id)));
  outcome.state = BuildState::Succeeded;
  return outcome;
}

} // namespace oci2eif::server
