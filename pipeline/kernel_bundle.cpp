#include "pipeline/kernel_bundle.hpp"

#include "core/error.hpp"
#include "core/file_stream.hpp"

namespace oci2eif::pipeline {

std::string default_cmdline(Arch arch) {
  if (arch == Arch::Aarch64) {
    return "reboot=k panic=30 pci=off nomodules console=ttyS0 random.trust_cpu=on root=/dev/ram0";
  }
  return "reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux i8042.nomux "
         "i8042.nopnp i8042.dumbkbd random.trust_cpu=on";
}

namespace {
std::string trimmed(const Bytes& b) {
  std::string s(b.begin(), b.end());
  const auto first = s.find_first_not_of(" \t\r\n");
  const auto last = s.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}
} // namespace

std::optional<Arch> bundle_arch(const std::filesystem::path& dir) {
  if (std::filesystem::is_regular_file(dir / "bzImage")) {
    return Arch::X86_64;
  }
  if (std::filesystem::is_regular_file(dir / "Image")) {
    return Arch::Aarch64;
  }
  return std::nullopt;
}

KernelBundle load_kernel_bundle(const std::filesystem::path& dir, Arch arch) {
  const std::string image = arch == Arch::Aarch64 ? "Image" : "bzImage";
  KernelBundle b;
  b.arch = arch;
  b.kernel = dir / image;
  if (!std::filesystem::is_regular_file(b.kernel)) {
    throw Error(ErrorCode::NotFound, "kernel bundle " + dir.string() + " has no " + image +
                                         " (the " + std::string(arch_name(arch)) + " kernel)");
  }
  if (std::filesystem::is_regular_file(dir / (image + ".config"))) {
    b.config = dir / (image + ".config");
  }
  if (std::filesystem::is_regular_file(dir / "nsm.ko")) {
    b.nsm_ko = dir / "nsm.ko";
  }
  b.cmdline = std::filesystem::is_regular_file(dir / "cmdline")
                  ? trimmed(read_small_file(dir / "cmdline", 64 * 1024))
                  : default_cmdline(arch);
  return b;
}

KernelBundle kernel_bundle_from_files(const std::filesystem::path& kernel,
                                      std::optional<std::filesystem::path> config, Arch arch) {
  KernelBundle b;
  b.arch = arch;
  b.kernel = kernel;
  b.config = std::move(config);
  b.cmdline = default_cmdline(arch);
  return b;
}

} // namespace oci2eif::pipeline
