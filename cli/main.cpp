// oci2eif: turns container images into AWS Nitro Enclave image files.
// This file only maps the command line onto the run_* functions in commands.hpp.
#include "cli/command_completion.hpp"
#include "cli/command_serve.hpp"
#include "cli/commands.hpp"
#include "cli/progress_display.hpp"
#include "core/closest_name.hpp"
#include "core/error.hpp"
#include "pipeline/version.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <iostream>

namespace {

using namespace oci2eif;

void add_threads_option(CLI::App* cmd, unsigned& threads) {
  cmd->add_option("--threads", threads,
                  "Threads that hash and write the EIF at once (default: the machine's cores; "
                  "the bytes are the same for any number)")
      ->check(CLI::Range(1u, 256u));
}

void add_assemble(CLI::App& app, cli::AssembleOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "assemble", "Write an EIF from a kernel, a command line and ramdisks (eif_build's flags)");
  cmd->add_option("--kernel", o.kernel, "Kernel image (bzImage or arm64 Image)")->required();
  cmd->add_option("--cmdline", o.cmdline, "Kernel command line")->required();
  cmd->add_option("--ramdisk", o.ramdisks, "Ramdisk, repeatable; order is kept")->required();
  cmd->add_option("--output", o.output, "Where to write the EIF")->required();
  cmd->add_option("--arch", o.arch, "x86_64 or aarch64")->capture_default_str();
  cmd->add_option("--name", o.name, "ImageName in the metadata (default: kernel file name)");
  cmd->add_option("--version", o.version, "ImageVersion in the metadata (default: 1.0)");
  cmd->add_option("--metadata", o.metadata, "JSON file of custom metadata (at most 4096 bytes)");
  cmd->add_option("--build-time", o.build_time,
                  "BuildTime (default: SOURCE_DATE_EPOCH, else 1970-01-01T00:00:00+00:00)");
  cmd->add_option("--build-tool", o.build_tool, "BuildTool")->capture_default_str();
  cmd->add_option("--build-tool-version", o.build_tool_version, "BuildToolVersion (default: ours)");
  cmd->add_option("--img-os", o.img_os, "OperatingSystem (default: from --kernel-config, else OS)");
  cmd->add_option("--img-kernel", o.img_kernel,
                  "KernelVersion (default: from --kernel-config, else kernel)");
  cmd->add_option("--kernel-config", o.kernel_config,
                  "Kernel .config to take OperatingSystem and KernelVersion from");
  cmd->add_option("--signing-certificate", o.signing_certificate, "PEM certificate to sign with");
  cmd->add_option("--private-key", o.private_key,
                  "PEM EC private key of that certificate, or a pkcs11: URI (RFC 7512)");
  add_threads_option(cmd, o.threads);
  cmd->callback([&o] {
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) {
      o.source_date_epoch = epoch;
    }
    cli::run_assemble(o, std::cout, std::cerr);
  });
}

void add_registry_options(CLI::App* cmd, cli::BuildOptions& o) {
  cmd->add_option("--insecure-registry", o.insecure_registries,
                  "Registry HOST[:PORT] that may be reached over plain HTTP (repeatable)");
  cmd->add_option("--registry-ca", o.registry_ca,
                  "PEM CA file trusted for registries (besides /etc/docker/certs.d)");
  cmd->add_option("--cache-dir", o.cache_dir,
                  "Blob cache (default: $XDG_CACHE_HOME/oci2eif, else ~/.cache/oci2eif)");
  cmd->add_option("--blob-timeout", o.blob_timeout_seconds,
                  "Seconds one blob request may take (default: no limit; stalls still time out)");
  cmd->add_option("--registry-mirror", o.registry_mirrors,
                  "DOMAIN=URL: pull DOMAIN's images through this mirror first, falling back to "
                  "DOMAIN (repeatable; tried in order)");
  cmd->add_option("--parallel-downloads", o.parallel_downloads, "Layers downloaded at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
}

// How a command that pulls shows its progress on stderr (cli/progress_display.hpp).
void add_progress_options(CLI::App* cmd, cli::BuildOptions& o) {
  cmd->add_option("--progress", o.progress,
                  "auto (tty on a terminal, else plain), tty (one updating line), plain, json "
                  "(a JSON object per line) or none (log lines only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "tty", "plain", "json", "none"}));
  cmd->add_flag("--quiet,-q", o.quiet, "Print only warnings and errors on stderr");
  o.terminal = cli::stderr_terminal();
}

void add_image_options(CLI::App* cmd, cli::BuildOptions& o) {
  cmd->add_option("--image", o.image,
                  "Registry image reference, e.g. busybox or host:5000/app:tag");
  add_registry_options(cmd, o);
  cmd->add_option("--oci-layout", o.oci_layout, "OCI image layout directory, DIR[:TAG]");
  cmd->add_option("--oci-archive", o.oci_archive, "oci-archive tarball, FILE[:TAG]");
  cmd->add_option("--docker-archive", o.docker_archive, "docker save tarball, FILE[:TAG]");
  cmd->add_option("--arch", o.arch,
                  "Enclave architecture: x86_64 or aarch64 (default: x86_64, or aarch64 for "
                  "a --kernel-dir bundle with an Image)");
  cmd->add_option("--platform", o.platform,
                  "Image platform, os/arch[/variant] (default: from --arch)");
  cmd->add_option("--scratch-dir", o.scratch_dir, "Empty directory for temporary files");
  add_progress_options(cmd, o);
}

// What the environment says to a build: SOURCE_DATE_EPOCH, and nitro-cli's blobs directory
// (its own NITRO_CLI_BLOBS, or OCI2EIF_NITRO_CLI_BLOBS as `serve` reads it).
void read_build_environment(cli::BuildOptions& o) {
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) {
    o.source_date_epoch = epoch;
  }
  for (const char* name : {"OCI2EIF_NITRO_CLI_BLOBS", "NITRO_CLI_BLOBS"}) {
    if (const char* blobs = std::getenv(name)) {
      o.nitro_cli_blobs = blobs;
    }
  }
}

// nitro-cli's spelling of `build`, for scripts written for it: `build-enclave --docker-uri REF
// --output-file F`, the kernel from nitro-cli's blobs directory, its measurements JSON.
void add_build_enclave(CLI::App& app, cli::BuildOptions& o, std::string& uri) {
  CLI::App* cmd = app.add_subcommand(
      "build-enclave", "nitro-cli's spelling of build: --docker-uri REF --output-file FILE");
  cmd->add_option("--docker-uri", uri,
                  "Image: a registry reference, or oci-layout:/oci-archive:/docker-archive: PATH")
      ->required();
  cmd->add_option("--output-file", o.output, "Where to write the EIF")->required();
  cmd->add_option("--signing-certificate", o.signing_certificate, "PEM certificate to sign with");
  cmd->add_option("--private-key", o.private_key,
                  "PEM EC private key of that certificate, or a pkcs11: URI (RFC 7512)");
  cmd->add_option("--name", o.name, "ImageName in the metadata");
  cmd->add_option("--version", o.version, "ImageVersion in the metadata");
  cmd->add_option("--metadata", o.metadata, "JSON file: an object of custom metadata");
  add_progress_options(cmd, o);
  cmd->callback([&o, &uri] {
    read_build_environment(o);
    cli::set_image_source(o, uri);
    cli::run_build(o, std::cout, std::cerr);
  });
}

// nitro-cli's spelling of `describe --json`.
void add_describe_eif(CLI::App& app, cli::DescribeOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("describe-eif", "nitro-cli's spelling of describe --json: --eif-path F");
  cmd->add_option("--eif-path", o.input, "The EIF to read")->required();
  cmd->callback([&o] {
    o.json = true;
    o.now_unix = static_cast<std::int64_t>(std::time(nullptr));
    cli::run_describe(o, std::cout);
  });
}

void add_build(CLI::App& app, cli::BuildOptions& o) {
  CLI::App* cmd = app.add_subcommand("build", "Build an EIF from a container image");
  add_image_options(cmd, o);
  cmd->add_option("--kernel-dir", o.kernel_dir,
                  "Kernel bundle: bzImage|Image, .config, cmdline, nsm.ko (default: nitro-cli's, "
                  "$NITRO_CLI_BLOBS or /usr/share/nitro_enclaves/blobs)");
  cmd->add_option("--kernel", o.kernel, "Kernel image (instead of --kernel-dir)");
  cmd->add_option("--kernel-config", o.kernel_config, "Its .config (with --kernel)");
  cmd->add_option("--cmdline", o.cmdline,
                  "Kernel command line (default: the bundle's, else nitro-cli's)");
  cmd->add_option("--entrypoint", o.entrypoint, "Replace ENTRYPOINT; repeat for each argument")
      ->each([&o](const std::string&) { o.entrypoint_set = true; });
  cmd->add_option("--cmd", o.cmd, "Replace CMD; repeat for each argument")
      ->each([&o](const std::string&) { o.cmd_set = true; });
  cmd->add_option("--env", o.env, "Set KEY=VALUE in the environment (repeatable)");
  cmd->add_option("--compress", o.compress, "Ramdisk compression: none or gzip")
      ->capture_default_str();
  cmd->add_option("--max-image-mb", o.max_image_mb,
                  "MiB of files the image may unpack to, over all its layers (else exit 1, "
                  "limit_exceeded)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 24));
  cmd->add_option("--max-image-entries", o.max_image_entries,
                  "Tar entries the image may hold, over all its layers")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  cmd->add_option("--max-eif-mb", o.max_eif_mb,
                  "MiB the EIF's kernel and ramdisks may add up to (else exit 1, limit_exceeded)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 24));
  cmd->add_option("--max-build-memory-mb", o.max_build_memory_mb,
                  "MiB of memory the image's file list may take (names, links, nodes)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 24));
  cmd->add_option("--name", o.name, "ImageName in the metadata");
  cmd->add_option("--version", o.version, "ImageVersion in the metadata");
  cmd->add_option("--metadata", o.metadata,
                  "JSON file: an object of custom metadata (at most 4096 bytes)");
  cmd->add_option("--build-time", o.build_time,
                  "BuildTime (default: SOURCE_DATE_EPOCH, else the epoch)");
  cmd->add_option("--signing-certificate", o.signing_certificate, "PEM certificate to sign with");
  cmd->add_option("--private-key", o.private_key,
                  "PEM EC private key of that certificate, or a pkcs11: URI (RFC 7512)");
  cmd->add_option("--provenance", o.provenance,
                  "Also write a SLSA provenance statement of the build here, in a DSSE envelope "
                  "signed with that key (.intoto.jsonl)");
  cmd->add_option("--push", o.push,
                  "Also store the EIF in a registry as an OCI artifact, HOST/REPO:TAG (its "
                  "provenance as its referrer; the image as its subject when in that repository)");
  cmd->add_option("--init", o.init, "Enclave init binary (default: oci2eif's own, built with it)");
  cmd->add_option("--output", o.output, "Where to write the EIF")->required();
  cmd->add_option("--pcrs", o.pcrs, "Also write the measurements JSON here");
  cmd->add_option("--rootfs-listing", o.rootfs_listing,
                  "Also write the root filesystem listing here");
  add_threads_option(cmd, o.threads);
  cmd->callback([&o] {
    read_build_environment(o);
    cli::run_build(o, std::cout, std::cerr);
  });
}

void add_rootfs(CLI::App& app, cli::BuildOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("rootfs", "Print an image's flattened root filesystem listing");
  add_image_options(cmd, o);
  cmd->callback([&o] { cli::run_rootfs(o, std::cout, std::cerr); });
}

void add_pull(CLI::App& app, cli::BuildOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("pull", "Pull an image for one platform into an OCI layout directory");
  cmd->add_option("image", o.image, "Image reference")->required();
  cmd->add_option("--oci-layout", o.output, "Directory to write the OCI layout to")->required();
  cmd->add_option("--arch", o.arch, "Enclave architecture: x86_64 or aarch64 (default: x86_64)");
  cmd->add_option("--platform", o.platform,
                  "Image platform, os/arch[/variant] (default: from --arch)");
  add_registry_options(cmd, o);
  add_progress_options(cmd, o);
  cmd->callback([&o] { cli::run_pull(o, std::cout, std::cerr); });
}

void add_diff(CLI::App& app, cli::DiffOptions& o) {
  CLI::App* cmd = app.add_subcommand("diff", "Explain why two EIFs measure differently");
  cmd->add_option("a", o.a, "The first EIF")->required();
  cmd->add_option("b", o.b, "The second EIF")->required();
  cmd->add_flag("--json", o.json, "Print the differences as JSON");
  cmd->callback([&o] { cli::run_diff(o, std::cout); });
}

void add_artifact_registry_options(CLI::App* cmd, cli::ArtifactOptions& o) {
  cmd->add_option("--insecure-registry", o.insecure_registries,
                  "Registry HOST[:PORT] that may be reached over plain HTTP (repeatable)");
  cmd->add_option("--registry-ca", o.registry_ca,
                  "PEM CA file trusted for registries (besides /etc/docker/certs.d)");
}

void add_push(CLI::App& app, cli::ArtifactOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("push", "Store an EIF in a registry as an OCI artifact, PCRs annotated");
  cmd->add_option("eif", o.eif, "The EIF")->required();
  cmd->add_option("reference", o.reference, "Where to store it: HOST/REPO[:TAG]")->required();
  cmd->add_option("--subject", o.subject,
                  "The image it was built from (same repository): lists it as a referrer");
  cmd->add_option("--provenance", o.provenance,
                  "Its provenance (.intoto.jsonl): attached as a referrer of the EIF artifact");
  add_artifact_registry_options(cmd, o);
  cmd->callback([&o] { cli::run_push(o, std::cout, std::cerr); });
}

void add_fetch(CLI::App& app, cli::ArtifactOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "fetch", "Download an EIF artifact, checking its digest and its PCRs against the manifest");
  cmd->add_option("reference", o.reference, "The artifact: HOST/REPO[:TAG|@DIGEST]")->required();
  cmd->add_option("--output,-o", o.output, "Where to write the EIF")->required();
  cmd->add_option("--provenance", o.provenance,
                  "Also write the provenance attached to it here (.intoto.jsonl)");
  cmd->add_option("--cache-dir", o.cache_dir,
                  "Blob cache (default: $XDG_CACHE_HOME/oci2eif, else ~/.cache/oci2eif)");
  add_artifact_registry_options(cmd, o);
  cmd->callback([&o] { cli::run_fetch(o, std::cout, std::cerr); });
}

void add_referrers(CLI::App& app, cli::ArtifactOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "referrers", "List the EIF artifacts built from an image, with PCRs and provenance");
  cmd->add_option("image", o.reference, "The image: HOST/REPO[:TAG|@DIGEST]")->required();
  cmd->add_flag("--json", o.json, "Print JSON");
  add_artifact_registry_options(cmd, o);
  cmd->callback([&o] { cli::run_referrers(o, std::cout, std::cerr); });
}

void add_describe(CLI::App& app, cli::DescribeOptions& o) {
  CLI::App* cmd = app.add_subcommand("describe", "Validate an EIF and show what it contains");
  cmd->add_option("eif", o.input, "The EIF to read")->required();
  cmd->add_flag("--json", o.json, "Print nitro-cli describe-eif JSON");
  cmd->add_option("--extract", o.extract_dir,
                  "Also write kernel, cmdline, metadata.json, ramdisk-N to this directory");
  cmd->callback([&o] {
    o.now_unix = static_cast<std::int64_t>(std::time(nullptr));
    cli::run_describe(o, std::cout);
  });
}

void add_verify(CLI::App& app, cli::VerifyOptions& o, int& exit_status) {
  CLI::App* cmd =
      app.add_subcommand("verify", "Check an EIF against its signed provenance and expected PCRs");
  cmd->footer("Exit status: 0 verified, 1 a file is unreadable or malformed, 2 usage, 3 no "
              "signature verifies with the key, 4 the statement is about another file, "
              "5 a PCR differs from the statement's or the expected one.");
  cmd->add_option("eif", o.eif, "The EIF")->required();
  cmd->add_option("--provenance", o.provenance, "DSSE envelope (.intoto.jsonl) of its build")
      ->required();
  CLI::Option* certificate = cmd->add_option(
      "--certificate", o.certificate, "PEM certificate of the key the provenance is signed with");
  CLI::Option* key =
      cmd->add_option("--key", o.key, "PEM public key the provenance is signed with");
  certificate->excludes(key);
  for (const char* pcr : {"0", "1", "2", "8"}) {
    cmd->add_option_function<std::string>(
        std::string("--expect-pcr") + pcr,
        [&o, pcr](const std::string& hex) { o.expect_pcrs[std::string("PCR") + pcr] = hex; },
        std::string("Fail (5) unless PCR") + pcr + " is this hex value");
  }
  cmd->callback([&o, &exit_status] {
    if (!o.certificate && !o.key) {
      throw CLI::RequiredError("--certificate or --key");
    }
    exit_status = cli::run_verify(o, std::cout);
  });
}

void add_submit(CLI::App& app, cli::SubmitOptions& o, int& exit_status) {
  CLI::App* cmd = app.add_subcommand(
      "submit", "Submit a build to a running oci2eif serve; with --wait, follow it to the end");
  cmd->footer("Exit status: 0 succeeded (or accepted, without --wait), 1 the build failed or was "
              "cancelled, 2 usage, 3 the server refused the request, 4 the server is unreachable "
              "or stays busy/unready, 5 --timeout passed (the build goes on).");
  cmd->add_option("image", o.image, "Image, as POST /v1/builds takes it")->required();
  cmd->add_option("--server", o.server, "The service's URL, e.g. https://oci2eif.internal:8443")
      ->required()
      ->envname("OCI2EIF_SERVER");
  cmd->add_option("--token-file", o.token_file,
                  "File holding the API token (default: $OCI2EIF_TOKEN; never printed)");
  cmd->add_option("--server-ca", o.server_ca, "PEM CA file trusted for the server's TLS");
  cmd->add_option("--kernel", o.kernel, "Kernel catalog name (default: the server's)");
  cmd->add_option("--platform", o.platform, "Image platform, os/arch[/variant]");
  cmd->add_option("--cmdline", o.cmdline, "Kernel command line");
  cmd->add_option("--entrypoint", o.entrypoint, "Replace ENTRYPOINT; repeat for each argument")
      ->each([&o](const std::string&) { o.entrypoint_set = true; });
  cmd->add_option("--cmd", o.cmd, "Replace CMD; repeat for each argument")
      ->each([&o](const std::string&) { o.cmd_set = true; });
  cmd->add_option("--env", o.env, "Set KEY=VALUE in the environment (repeatable)");
  cmd->add_option("--label", o.labels, "KEY=VALUE label of the build (repeatable)");
  cmd->add_option("--compress", o.compress, "Ramdisk compression: none or gzip")
      ->capture_default_str();
  cmd->add_option("--name", o.name, "ImageName in the metadata");
  cmd->add_option("--version", o.version, "ImageVersion in the metadata");
  cmd->add_option("--metadata", o.metadata, "JSON file: an object of custom metadata");
  cmd->add_option("--signing-key", o.signing_key, "Name of a signing key configured on the server");
  cmd->add_option("--push", o.push,
                  "Have the service store the EIF in a registry as an OCI artifact, "
                  "HOST/REPO:TAG (one of its push_targets)");
  cmd->add_option("--idempotency-key", o.idempotency_key,
                  "Idempotency-Key of the POST (default: a random one per run)");
  cmd->add_flag("--wait", o.wait,
                "Wait for the build to end; print its measurements JSON (nitro-cli's shape)");
  cmd->add_flag("--quiet,-q", o.quiet, "With --wait, do not copy the build's log to stderr");
  cmd->add_option("--output", o.output, "With --wait, download the EIF here");
  cmd->add_option("--pcrs", o.pcrs, "With --wait, write the measurements JSON here too");
  cmd->add_option("--timeout", o.timeout, "Give up waiting after this long: 90s, 15m, 2h");
  cmd->callback([&o, &exit_status] {
    if (const char* token = std::getenv("OCI2EIF_TOKEN")) {
      o.token_env = token;
    }
    exit_status = cli::run_submit(o, std::cout, std::cerr);
  });
}

// sysexits.h's EX_USAGE (2) for a wrong invocation, EX_SOFTWARE (70) for a bug; 1 for a
// failure that is not the program's fault (a corrupt file, a refused pull, a full disk).
int exit_code_for(ErrorCode code) {
  switch (code) {
  case ErrorCode::InvalidInput:
    return 2;
  case ErrorCode::Internal:
    return 70;
  default:
    return 1;
  }
}

void add_pcr(CLI::App& app, cli::PcrOptions& o) {
  CLI::App* cmd = app.add_subcommand("pcr", "Compute a PCR value as nitro-cli pcr does");
  auto* input = cmd->add_option("--input", o.input, "File whose bytes are measured");
  auto* cert = cmd->add_option("--signing-certificate", o.signing_certificate,
                               "PEM certificate whose PCR8 is computed");
  input->excludes(cert);
  cmd->callback([&o] { cli::run_pcr(o, std::cout); });
}

} // namespace

// One option per row of the daemon's settings table, so every setting with an environment
// variable has its flag too, and --help lists them with their help.
void add_serve(CLI::App& app, server::ServeFlags& o) {
  CLI::App* cmd = app.add_subcommand("serve", "Run the build service (HTTP API, queue, workers)");
  cmd->add_option("--config", o.config, "JSON configuration file");
  for (const server::SettingNames& s : server::serve_setting_names()) {
    if (s.flag.empty()) {
      continue; // file-only (structured) settings
    }
    const std::string flag(s.flag);
    const std::string help(s.help);
    if (s.is_switch) {
      cmd->add_flag_callback(
          flag, [&o, flag] { o.values[flag] = {"true"}; }, help);
    } else if (s.list) {
      cmd->add_option_function<std::vector<std::string>>(
          flag, [&o, flag](const std::vector<std::string>& v) { o.values[flag] = v; }, help);
    } else {
      cmd->add_option_function<std::string>(
          flag, [&o, flag](const std::string& v) { o.values[flag] = {v}; }, help);
    }
  }
  cmd->callback([&o] { cli::run_serve(o); });
}

// A wrong command line exits 2 (EX_USAGE, as getopt-style tools do) with one line and a hint,
// instead of CLI11's own statuses 104-109; --help and --version (status 0) print as CLI11 does.
// An unknown first word is named as an unknown subcommand ("did you mean …?").
int usage_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (e.get_exit_code() == 0) {
    return app.exit(e);
  }
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  const std::string first = argc > 1 ? argv[1] : "";
  const bool unknown = !first.empty() && first[0] != '-' &&
                       std::find(names.begin(), names.end(), first) == names.end();
  std::string hint = "oci2eif --help";
  if (unknown) {
    const auto near = closest_name(first, names);
    std::cerr << "oci2eif: error: unknown subcommand '" << first << "'"
              << (near ? "; did you mean '" + *near + "'?" : "") << "\n";
  } else {
    const auto parsed = app.get_subcommands();
    hint = parsed.empty() ? hint : "oci2eif " + parsed.front()->get_name() + " --help";
    std::cerr << "oci2eif: error: " << e.what() << "\n";
  }
  std::cerr << "Run '" << hint << "' for usage.\n";
  return 2;
}

int main(int argc, char** argv) {
  CLI::App app{"oci2eif: build and inspect AWS Nitro Enclave image files (EIF)", "oci2eif"};
  // --version, as users of nitro-cli and most tools expect; --version-info, the older name.
  app.set_version_flag("--version,--version-info", std::string("oci2eif ") + pipeline::kVersion);
  app.require_subcommand(1);
  app.footer("Run 'oci2eif SUBCOMMAND --help' for a subcommand's options. Shell completion: "
             "'oci2eif completion bash|zsh'.");
  cli::AssembleOptions assemble;
  cli::DescribeOptions describe;
  cli::DiffOptions diff;
  cli::VerifyOptions verify;
  cli::PcrOptions pcr;
  cli::BuildOptions build, rootfs, pull, build_enclave;
  cli::DescribeOptions describe_eif;
  std::string docker_uri;
  add_build(app, build);
  add_rootfs(app, rootfs);
  add_pull(app, pull);
  add_assemble(app, assemble);
  add_describe(app, describe);
  add_diff(app, diff);
  add_build_enclave(app, build_enclave, docker_uri);
  add_describe_eif(app, describe_eif);
  add_pcr(app, pcr);
  server::ServeFlags serve;
  add_serve(app, serve);
  cli::SubmitOptions submit;
  int exit_status = 0; // what a command that reports its own status returned
  add_submit(app, submit, exit_status);
  add_verify(app, verify, exit_status);
  cli::ArtifactOptions push, fetch, referrers;
  add_push(app, push);
  add_fetch(app, fetch);
  add_referrers(app, referrers);
  std::string completion_shell;
  cli::add_completion(app, completion_shell); // last: its scripts cover every subcommand above
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e, argc, argv);
  } catch (...) {
    const Error e = current_error();
    const bool internal = e.code() == ErrorCode::Internal;
    std::cerr << "oci2eif: " << (internal ? "internal error: " : "error: ") << e.what() << "\n";
    return exit_code_for(e.code());
  }
  return exit_status;
}
