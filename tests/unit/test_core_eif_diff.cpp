#include "core/eif_diff.hpp"
#include "core/eif_writer.hpp"
#include "core/layer_flattener.hpp"
#include "core/ramdisk_writer.hpp"
#include "tests/unit/tar_builder.hpp"
#include "tests/unit/test_support.hpp"

#include <algorithm>
#include <cstring>
#include <doctest/doctest.h>

using namespace oci2eif;
using test::TarBuilder;

namespace {

// An EIF held in memory, read at any offset.
class MemoryReader final : public PositionalReader {
public:
  explicit MemoryReader(Bytes b) : bytes_(std::move(b)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset >= bytes_.size()) {
      return 0;
    }
    const std::size_t n = std::min<std::size_t>(out.size(), bytes_.size() - offset);
    std::memcpy(out.data(), bytes_.data() + offset, n);
    return n;
  }
  std::string describe() const override { return "memory"; }

private:
  Bytes bytes_;
};

// What one test image is made of; each pair below changes one of these.
struct Image {
  std::string kernel = "kernel-1";
  std::string cmdline = "console=ttyS0 reboot=k";
  std::string motd = "Welcome\n";
  std::uint32_t motd_mode = 0644;
  std::uint32_t motd_owner = 0;
  AppConfig app{{"/bin/app", "--serve"}, {"PATH=/bin", "DEBUG=0"}, "/srv", ""};
  std::string build_time = "2024-01-01T00:00:00+00:00";
};

Bytes app_ramdisk(const Image& image) {
  MemorySpool spool;
  LayerFlattener flattener(spool);
  const Bytes layer =
      TarBuilder()
          .file("bin/app", "#!/bin/sh\n", 0755)
          .file("etc/motd", image.motd, image.motd_mode, image.motd_owner, image.motd_owner)
          .symlink("etc/alias", "motd")
          .finish();
  MemorySource in(layer, "layer 1");
  flattener.apply_layer(in, "layer 1");
  VectorSink out;
  write_app_ramdisk(flattener.tree(), spool, image.app, {}, out);
  return out.bytes();
}

Bytes bootstrap_ramdisk() {
  const std::string init = "init binary";
  MemorySource in(as_bytes(init), "init");
  VectorSink out;
  write_bootstrap_ramdisk(in, nullptr, {}, out);
  return out.bytes();
}

EifInventory inventory(const Image& image) {
  const Bytes boot = bootstrap_ramdisk();
  const Bytes app = app_ramdisk(image);
  MemorySource kernel(as_bytes(image.kernel), "kernel");
  MemorySource boot_in(boot, "bootstrap");
  MemorySource app_in(app, "application");
  EifContents contents;
  contents.kernel = &kernel;
  contents.cmdline = image.cmdline;
  contents.metadata.image_name = "test";
  contents.metadata.image_version = "1.0";
  contents.metadata.build = {image.build_time, "oci2eif", "0", "Linux", "6.1.0"};
  contents.ramdisks = {&boot_in, &app_in};
  VectorSink out;
  write_eif(contents, out);
  MemoryReader reader(out.bytes());
  return read_eif_inventory(reader, "test.eif");
}

EifDiff diff(const Image& a, const Image& b) {
  return diff_eifs(inventory(a), inventory(b));
}

// The one change a pair must show, checked field by field.
EifChange only_change(const EifDiff& d) {
  REQUIRE(d.changes.size() == 1);
  return d.changes.front();
}

using Pcrs = std::vector<std::string>;

} // namespace

TEST_SUITE("core::eif_diff") {
  TEST_CASE("the same inputs give no change at all") {
    const EifDiff d = diff(Image{}, Image{});
    CHECK(d.same_measurements());
    CHECK(d.changes.empty());
    CHECK(diff_json(d)["identical"] == true);
  }

  TEST_CASE("a file's content: that file, its size and sha256, under PCR2") {
    Image b;
    b.motd = "Goodbye\n";
    const EifDiff d = diff(Image{}, b);
    CHECK(d.a.pcr1 == d.b.pcr1);
    CHECK(d.a.pcr2 != d.b.pcr2);
    const EifChange c = only_change(d);
    CHECK(c.subject == "file");
    CHECK(c.path == "/etc/motd");
    CHECK(c.change == "changed");
    CHECK(c.pcrs == Pcrs{"PCR0", "PCR2"});
    CHECK(c.fields == std::vector<std::string>{"sha256"}); // same length
    CHECK(c.a["sha256"] == "0e90e1aa36481e399939d32680dab2005c299f2bb9c3ba6b151ac0cc821fec7a");
    CHECK(c.b["sha256"] == "6537a9340193debef5c8681576dd2c2b2b16be92a675f9ba32f405a667f52e23");
  }

  TEST_CASE("a mode and an owner: that field of that file") {
    Image mode;
    mode.motd_mode = 0600;
    const EifChange m = only_change(diff(Image{}, mode));
    CHECK(m.path == "/etc/motd");
    CHECK(m.fields == std::vector<std::string>{"mode"});
    CHECK(m.a["mode"] == "0644");
    CHECK(m.b["mode"] == "0600");

    Image owner;
    owner.motd_owner = 1000;
    const EifChange o = only_change(diff(Image{}, owner));
    CHECK(o.path == "/etc/motd");
    CHECK(o.fields == std::vector<std::string>{"owner"});
    CHECK(o.b["owner"] == "1000:1000");
  }

  TEST_CASE("an environment variable: that variable, and the command when it changes") {
    Image b;
    b.app.env = {"PATH=/bin", "DEBUG=1", "NEW=x"};
    const EifDiff d = diff(Image{}, b);
    REQUIRE(d.changes.size() == 2);
    CHECK(d.changes[0].subject == "env");
    CHECK(d.changes[0].path == "DEBUG");
    CHECK(d.changes[0].a == "DEBUG=0");
    CHECK(d.changes[0].b == "DEBUG=1");
    CHECK(d.changes[1].path == "NEW");
    CHECK(d.changes[1].change == "added");

    Image cmd;
    cmd.app.argv = {"/bin/app", "--serve", "--verbose"};
    const EifChange c = only_change(diff(Image{}, cmd));
    CHECK(c.subject == "cmd");
    CHECK(c.b == nlohmann::json::array({"/bin/app", "--serve", "--verbose"}));
  }

  TEST_CASE("the cmdline and the kernel: PCR0 and PCR1, PCR2 untouched") {
    Image cmdline;
    cmdline.cmdline = "console=ttyS0 reboot=k quiet";
    const EifDiff dc = diff(Image{}, cmdline);
    CHECK(dc.a.pcr2 == dc.b.pcr2);
    const EifChange c = only_change(dc);
    CHECK(c.subject == "cmdline");
    CHECK(c.pcrs == Pcrs{"PCR0", "PCR1"});
    CHECK(c.b == "console=ttyS0 reboot=k quiet");

    Image kernel;
    kernel.kernel = "kernel-2";
    const EifChange k = only_change(diff(Image{}, kernel));
    CHECK(k.subject == "kernel");
    CHECK(k.fields == std::vector<std::string>{"sha384"});
    CHECK(k.b["sha384"] ==
          "45ed40cef0e64ac1f533b8603090ec5b6318f7d6e0ef39841b4209942dd1fdd4caac0493"
          "0a57424ed154cbf3591306df");
  }

  TEST_CASE("metadata is reported as not measured") {
    Image b;
    b.build_time = "2025-06-01T00:00:00+00:00";
    const EifDiff d = diff(Image{}, b);
    CHECK(d.same_measurements());
    const EifChange c = only_change(d);
    CHECK(c.subject == "metadata");
    CHECK(c.path == "BuildTime");
    CHECK(c.pcrs.empty());
  }

  TEST_CASE("AWS's vectors: an extra ramdisk that is not cpio is still explained") {
    // vector e adds 1,000 random bytes as a third ramdisk (vectors.json).
    auto load = [](char v) {
      MemoryReader r(test::read_file(test::vector_file(v)));
      return read_eif_inventory(r, std::string("vector-") + v);
    };
    const EifInventory a = load('a');
    const EifInventory e = load('e');
    CHECK(e.unreadable_ramdisks.size() == 1);
    CHECK(e.unreadable_ramdisks.contains(2));
    const EifDiff d = diff_eifs(a, e);
    REQUIRE(d.changes.size() == 2);
    CHECK(d.changes[0].subject == "ramdisks");
    CHECK(d.changes[1].subject == "archive");
    CHECK(d.changes[1].b.size() == 2);
    CHECK(d.a.pcr1 == d.b.pcr1);
    const nlohmann::ordered_json j = diff_json(d);
    CHECK(j["identical"] == false);
    CHECK(j["measurements"]["PCR2"]["changed"] == true);
    CHECK(j["measurements"]["PCR1"]["changed"] == false);
  }
}
