// A kernel bundle: what goes into an EIF besides the image. Laid out like nitro-cli's blobs
// directory (/usr/share/nitro_enclaves/blobs):
//
//   bzImage | Image     the kernel (x86_64 | aarch64)
//   bzImage.config      its .config (gives OperatingSystem/KernelVersion), optional
//   cmdline             kernel command line, optional (default: nitro-cli's for the arch)
//   nsm.ko              the Nitro Secure Module driver, optional
#pragma once

#include "core/eif_format.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace oci2eif::pipeline {

struct KernelBundle {
  Arch arch = Arch::X86_64;
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> config;
  std::optional<std::filesystem::path> nsm_ko;
  std::string cmdline;
};

// nitro-cli's default command line for `arch` (its blobs/<arch>/cmdline, trailing newline
// trimmed), so PCRs of our EIFs are comparable with nitro-cli's.
std::string default_cmdline(Arch arch);

// The architecture of the kernel a bundle directory holds: x86_64 for a bzImage, else aarch64
// for an Image; nullopt when it has neither.
std::optional<Arch> bundle_arch(const std::filesystem::path& dir);

// Loads a bundle directory for `arch`; throws NotFound naming the missing file.
KernelBundle load_kernel_bundle(const std::filesystem::path& dir, Arch arch);

// A bundle from explicit files (config optional; cmdline defaulted).
KernelBundle kernel_bundle_from_files(const std::filesystem::path& kernel,
                                      std::optional<std::filesystem::path> config, Arch arch);

} // namespace oci2eif::pipeline
