// Kernel bundles (nitro-cli blobs layout): which architecture a directory holds, and what
// loading it for that architecture picks up.
#include "pipeline/kernel_bundle.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using oci2eif::test::TempDir;

namespace {
void touch(const std::filesystem::path& path, const std::string& text = "x") {
  test::write_file(path, as_bytes(text));
}
} // namespace

TEST_CASE("bundle_arch: bzImage is x86_64, Image is aarch64, neither is unknown") {
  TempDir x86, arm, none;
  touch(x86 / "bzImage");
  touch(arm / "Image");
  touch(none / "vmlinuz");
  CHECK(pipeline::bundle_arch(x86.path()) == Arch::X86_64);
  CHECK(pipeline::bundle_arch(arm.path()) == Arch::Aarch64);
  CHECK_FALSE(pipeline::bundle_arch(none.path()).has_value());
  // A directory entry named Image is not a kernel.
  TempDir dir_named_image;
  std::filesystem::create_directory(dir_named_image / "Image");
  CHECK_FALSE(pipeline::bundle_arch(dir_named_image.path()).has_value());
}

TEST_CASE("an aarch64 bundle loads Image and Image.config, with nitro-cli's arm64 cmdline") {
  TempDir arm;
  touch(arm / "Image");
  touch(arm / "Image.config", "CONFIG_ARM64=y\n");
  touch(arm / "bzImage.config", "CONFIG_X86_64=y\n"); // another arch's config is not picked
  const pipeline::KernelBundle b = pipeline::load_kernel_bundle(arm.path(), Arch::Aarch64);
  CHECK(b.arch == Arch::Aarch64);
  CHECK(b.kernel == arm / "Image");
  REQUIRE(b.config.has_value());
  CHECK(*b.config == arm / "Image.config");
  CHECK(b.cmdline == pipeline::default_cmdline(Arch::Aarch64));
  CHECK(b.cmdline != pipeline::default_cmdline(Arch::X86_64));
  CHECK(test::error_of([&] {
          pipeline::load_kernel_bundle(arm.path(), Arch::X86_64);
        }).find("has no bzImage (the x86_64 kernel)") != std::string::npos);
}
