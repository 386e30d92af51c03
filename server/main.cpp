// oci2eif: turns container images into AWS Nitro Enclave image files.
// This file only maps the command line onto the run_* functions in commands.hpp.
#include "core/error.hpp"
#include "server/commands.hpp"
#include "server/version.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ctime>
#include <iostream>

namespace {

using namespace oci2eif;

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
  cmd->add_option("--private-key", o.private_key, "PEM EC private key of that certificate");
  cmd->callback([&o] {
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) {
      o.source_date_epoch = epoch;
    }
    cli::run_assemble(o, std::cout, std::cerr);
  });
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

void add_pcr(CLI::App& app, cli::PcrOptions& o) {
  CLI::App* cmd = app.add_subcommand("pcr", "Compute a PCR value as nitro-cli pcr does");
  auto* input = cmd->add_option("--input", o.input, "File whose bytes are measured");
  auto* cert = cmd->add_option("--signing-certificate", o.signing_certificate,
                               "PEM certificate whose PCR8 is computed");
  input->excludes(cert);
  cmd->callback([&o] { cli::run_pcr(o, std::cout); });
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"oci2eif: build and inspect AWS Nitro Enclave image files (EIF)", "oci2eif"};
  app.set_version_flag("--version-info", std::string("oci2eif ") + kVersion);
  app.require_subcommand(1);
  cli::AssembleOptions assemble;
  cli::DescribeOptions describe;
  cli::PcrOptions pcr;
  add_assemble(app, assemble);
  add_describe(app, describe);
  add_pcr(app, pcr);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::cerr << "oci2eif: error: " << e.what() << "\n";
    return e.code() == ErrorCode::InvalidInput ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "oci2eif: internal error: " << e.what() << "\n";
    return 70;
  }
  return 0;
}
