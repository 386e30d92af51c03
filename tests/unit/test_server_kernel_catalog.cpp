// KernelCatalog: configured and uploaded bundles, the default, lookups, uploads and removals,
// and the bundle digest that enters every build's input key.
#include "core/error.hpp"
#include "server/kernel_catalog.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::server;

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  test::write_file(path, as_bytes(text));
}

// A bundle directory as nitro-cli lays it out (kernel_bundle.hpp).
std::filesystem::path bundle(const std::filesystem::path& dir, const std::string& kernel,
                             const std::string& cmdline = "console=ttyS0 quiet") {
  write(dir / "bzImage", kernel);
  write(dir / "cmdline", cmdline + "\n");
  return dir;
}

std::string sha(const std::string& text) {
  return "sha256:" + test::sha256_hex(as_bytes(text));
}

KernelUpload upload_of(const std::string& kernel) {
  KernelUpload u;
  u.kernel = kernel;
  u.cmdline = "console=ttyS0";
  return u;
}

std::vector<std::string> names(const KernelCatalog& catalog) {
  std::vector<std::string> out;
  for (const KernelInfo& k : catalog.list()) {
    out.push_back(k.name + (k.is_default ? "*" : ""));
  }
  return out;
}

} // namespace

TEST_SUITE("server::KernelCatalog") {
  TEST_CASE("configured bundles are listed by name, and the first configured is the default") {
    test::TempDir dir;
    KernelCatalog catalog({{"zeta", bundle(dir / "z", "Z")}, {"alpha", bundle(dir / "a", "A")}},
                          dir / "uploads");
    CHECK(catalog.default_name() == "zeta");
    CHECK(names(catalog) == std::vector<std::string>{"alpha", "zeta*"});
    const auto zeta = catalog.find("zeta");
    REQUIRE(zeta);
    CHECK(zeta->info.source == "configured");
    CHECK(zeta->info.is_default);
    CHECK(zeta->info.arch == Arch::X86_64);
    CHECK(zeta->info.cmdline == "console=ttyS0 quiet");
    CHECK(zeta->bundle.kernel == dir / "z" / "bzImage");
  }

  TEST_CASE("a name not in the catalog is not found, and removing it says so") {
    test::TempDir dir;
    KernelCatalog catalog({{"k", bundle(dir / "k", "K")}}, dir / "uploads");
    CHECK_FALSE(catalog.contains("nope"));
    CHECK_FALSE(catalog.find("nope"));
    CHECK(catalog.remove("nope") == KernelRemoveResult::NotFound);
  }

  TEST_CASE("a configured bundle that does not load stops the catalog, naming the file") {
    test::TempDir dir;
    std::filesystem::create_directories(dir / "empty");
    CHECK(test::error_of([&] {
            KernelCatalog({{"k", dir / "empty"}}, dir / "uploads");
          }).find("bzImage") != std::string::npos);
  }

  TEST_CASE("the digest covers kernel, cmdline, config and nsm.ko, and only those") {
    test::TempDir dir;
    const auto k = bundle(dir / "k", "KERNEL", "console=ttyS0");
    write(k / "bzImage.config", "CONFIG_X86_64=y\n");
    write(k / "nsm.ko", "NSM");
    const auto info = KernelCatalog({{"k", k}}, dir / "uploads").find("k")->info;
    // kernel_catalog.hpp: one line per part, each file as its own "sha256:<hex>".
    CHECK(info.kernel_sha256 == sha("KERNEL"));
    CHECK(info.config_sha256 == sha("CONFIG_X86_64=y\n"));
    CHECK(info.nsm_sha256 == sha("NSM"));
    CHECK(info.digest ==
          sha(sha("KERNEL") + "\nconsole=ttyS0\n" + sha("CONFIG_X86_64=y\n") + "\n" + sha("NSM")));

    // Stable: the same files under another name and directory give the same digest.
    const auto copy = bundle(dir / "copy", "KERNEL", "console=ttyS0");
    write(copy / "bzImage.config", "CONFIG_X86_64=y\n");
    write(copy / "nsm.ko", "NSM");
    CHECK(KernelCatalog({{"other", copy}}, dir / "uploads2").find("other")->info.digest ==
          info.digest);
    // Any part changed changes it.
    write(copy / "cmdline", "console=ttyS1\n");
    CHECK(KernelCatalog({{"other", copy}}, dir / "uploads3").find("other")->info.digest !=
          info.digest);
  }

  TEST_CASE("an upload is stored under its name, listed, and loaded again at start") {
    test::TempDir dir;
    const std::vector<KernelDir> configured{{"base", bundle(dir / "base", "B")}};
    KernelUpload u = upload_of("UPLOADED");
    u.nsm_ko = "NSM";
    {
      KernelCatalog catalog(configured, dir / "uploads");
      const KernelInfo info = catalog.add("custom-1.0", u);
      CHECK(info.source == "uploaded");
      CHECK(info.kernel_sha256 == sha("UPLOADED"));
      CHECK(info.nsm_sha256 == sha("NSM"));
      CHECK_FALSE(info.config_sha256);
      CHECK(info.cmdline == "console=ttyS0");
      CHECK(info.digest == sha(sha("UPLOADED") + "\nconsole=ttyS0\n" + sha("NSM")));
      CHECK(names(catalog) == std::vector<std::string>{"base*", "custom-1.0"});
    }
    const Bytes stored = test::read_file(dir / "uploads" / "custom-1.0" / "bzImage");
    CHECK(std::string(stored.begin(), stored.end()) == "UPLOADED");
    KernelCatalog restarted(configured, dir / "uploads");
    REQUIRE(restarted.find("custom-1.0"));
    CHECK(restarted.find("custom-1.0")->info.digest ==
          sha(sha("UPLOADED") + "\nconsole=ttyS0\n" + sha("NSM")));
    CHECK(restarted.default_name() == "base");
  }

  TEST_CASE("an aarch64 upload is stored as Image and listed as aarch64") {
    test::TempDir dir;
    KernelCatalog catalog({}, dir / "uploads");
    KernelUpload u = upload_of("ARM");
    u.arch = Arch::Aarch64;
    CHECK(catalog.add("arm", u).arch == Arch::Aarch64);
    CHECK(std::filesystem::is_regular_file(dir / "uploads" / "arm" / "Image"));
  }

  TEST_CASE("an upload with a bad name, an empty kernel or a taken name is refused") {
    test::TempDir dir;
    KernelCatalog catalog({{"base", bundle(dir / "base", "B")}}, dir / "uploads");
    for (const std::string& bad :
         std::vector<std::string>{"", ".hidden", "a/b", "../up", std::string(65, 'x')}) {
      CHECK(test::error_of([&] { catalog.add(bad, upload_of("K")); }) ==
            "field 'name': '" + bad + "' must be 1-64 of [A-Za-z0-9._-], not starting with '.'");
    }
    CHECK(test::error_of([&] { catalog.add("empty", upload_of("")); }) ==
          "field 'kernel': the kernel image is empty");
    CHECK(test::error_of([&] { catalog.add("base", upload_of("K")); }) ==
          "field 'name': a kernel named 'base' already exists; delete it first");
    catalog.add("mine", upload_of("K"));
    CHECK(test::error_of([&] { catalog.add("mine", upload_of("K2")); }) ==
          "field 'name': a kernel named 'mine' already exists; delete it first");
    CHECK(names(catalog) == std::vector<std::string>{"base*", "mine"});
  }

  TEST_CASE("remove takes an uploaded bundle and its files - the default and configured stay") {
    test::TempDir dir;
    KernelCatalog catalog({{"base", bundle(dir / "base", "B")}, {"extra", bundle(dir / "x", "X")}},
                          dir / "uploads");
    catalog.add("mine", upload_of("K"));
    CHECK(catalog.remove("base") == KernelRemoveResult::IsDefault);
    CHECK(catalog.remove("extra") == KernelRemoveResult::Configured);
    CHECK(catalog.remove("mine") == KernelRemoveResult::Removed);
    CHECK_FALSE(catalog.contains("mine"));
    CHECK(std::filesystem::is_empty(dir / "uploads"));
    CHECK(std::filesystem::exists(dir / "x" / "bzImage"));
    CHECK(catalog.remove("mine") == KernelRemoveResult::NotFound);
  }

  TEST_CASE("at start, unfinished uploads are cleared and a broken upload is skipped") {
    test::TempDir dir;
    write(dir / "uploads" / ".upload-k-1-2" / "bzImage", "half");
    std::filesystem::create_directories(dir / "uploads" / "broken"); // no kernel in it
    bundle(dir / "uploads" / "zz", "Z");
    bundle(dir / "uploads" / "aa", "A");
    KernelCatalog catalog({}, dir / "uploads");
    CHECK_FALSE(std::filesystem::exists(dir / "uploads" / ".upload-k-1-2"));
    // With nothing configured, the first upload by name is the default.
    CHECK(names(catalog) == std::vector<std::string>{"aa*", "zz"});
  }

  TEST_CASE("an uploaded bundle is shadowed by a configured one of the same name") {
    test::TempDir dir;
    bundle(dir / "uploads" / "k", "UPLOADED");
    KernelCatalog catalog({{"k", bundle(dir / "conf", "CONFIGURED")}}, dir / "uploads");
    CHECK(catalog.find("k")->info.source == "configured");
    CHECK(catalog.find("k")->info.kernel_sha256 == sha("CONFIGURED"));
  }
}
