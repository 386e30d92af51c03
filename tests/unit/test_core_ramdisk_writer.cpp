#include "core/cpio_writer.hpp"
#include "core/error.hpp"
#include "core/gzip_sink.hpp"
#include "core/layer_flattener.hpp"
#include "core/ramdisk_writer.hpp"
#include "tests/unit/tar_builder.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using test::TarBuilder;

namespace {

// A minimal newc reader for the assertions (independent of the writer's code).
struct CpioMember {
  std::string name;
  std::uint32_t ino, mode, uid, gid, nlink, mtime;
  std::string data;
};

std::uint32_t field(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(
      std::stoul(std::string(b.begin() + at, b.begin() + at + 8), nullptr, 16));
}

std::vector<CpioMember> parse(const Bytes& b) {
  std::vector<CpioMember> out;
  std::size_t p = 0;
  for (;;) {
    REQUIRE(std::string(b.begin() + p, b.begin() + p + 6) == "070701");
    CpioMember m;
    m.ino = field(b, p + 6);
    m.mode = field(b, p + 14);
    m.uid = field(b, p + 22);
    m.gid = field(b, p + 30);
    m.nlink = field(b, p + 38);
    m.mtime = field(b, p + 46);
    const std::uint32_t size = field(b, p + 54);
    const std::uint32_t namesize = field(b, p + 94);
    m.name = std::string(b.begin() + p + 110, b.begin() + p + 110 + namesize - 1);
    p = (p + 110 + namesize + 3) & ~std::size_t{3};
    m.data = std::string(b.begin() + p, b.begin() + p + size);
    p = (p + size + 3) & ~std::size_t{3};
    if (m.name == "TRAILER!!!") {
      break;
    }
    out.push_back(m);
  }
  CHECK(b.size() % 512 == 0);
  return out;
}

Bytes ramdisk(const Bytes& layer, const AppConfig& app) {
  MemorySpool spool;
  LayerFlattener f(spool);
  MemorySource in(layer, "layer 1");
  f.apply_layer(in, "layer 1");
  VectorSink out;
  write_app_ramdisk(f.tree(), spool, app, {}, out);
  return out.bytes();
}

const CpioMember* member(const std::vector<CpioMember>& all, const std::string& name) {
  for (const auto& m : all) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

} // namespace

TEST_SUITE("core::ramdisk_writer") {
  TEST_CASE(
      "the application ramdisk has nitro-cli's layout, sorted, with fixed mtimes and inodes") {
    AppConfig app{{"/app/run.sh", "hello world"}, {"PATH=/bin", "A=b c"}, "/work", "app"};
    const auto all = parse(
        ramdisk(TarBuilder().file("app/run.sh", "#!/bin/sh\n", 0755).dir("var").finish(), app));
    std::vector<std::string> names;
    for (const auto& m : all) {
      names.push_back(m.name);
      CHECK(m.mtime == 0);
    }
    CHECK(names == std::vector<std::string>{"cmd", "env", "rootfs", "rootfs/app",
                                            "rootfs/app/run.sh", "rootfs/dev", "rootfs/proc",
                                            "rootfs/run", "rootfs/sys", "rootfs/tmp", "rootfs/var",
                                            "user", "workdir"});
    for (std::size_t i = 0; i < all.size(); ++i) {
      CHECK(all[i].ino == i + 1);
    }
    CHECK(member(all, "cmd")->data == "/app/run.sh\nhello world\n");
    CHECK(member(all, "env")->data == "PATH=/bin\nA=b c\n");
    CHECK(member(all, "workdir")->data == "/work\n");
    CHECK(member(all, "user")->data == "app\n");
    CHECK(member(all, "rootfs/app/run.sh")->mode == (0100000u | 0755u));
    CHECK(member(all, "rootfs/app/run.sh")->data == "#!/bin/sh\n");
  }

  TEST_CASE("hardlinks share an inode and the first name carries the data") {
    const auto all = parse(
        ramdisk(TarBuilder().file("b", "shared").hardlink("a", "b").hardlink("c", "b").finish(),
                {{"/b"}, {}, "", ""}));
    const auto* a = member(all, "rootfs/a");
    const auto* b = member(all, "rootfs/b");
    const auto* c = member(all, "rootfs/c");
    CHECK(a->ino == b->ino);
    CHECK(b->ino == c->ino);
    CHECK(a->nlink == 3);
    CHECK(a->data == "shared");
    CHECK(b->data.empty());
    CHECK(c->data.empty());
  }

  TEST_CASE("an app config that /cmd and /env cannot hold is refused") {
    const Bytes layer = TarBuilder().file("x", "x").finish();
    CHECK_THROWS_WITH_AS(ramdisk(layer, {{}, {}, "", ""}),
                         "the image has no command to run: set ENTRYPOINT or CMD in the image, or "
                         "pass --entrypoint/--cmd",
                         Error);
    CHECK_THROWS_AS(ramdisk(layer, {{std::string("a\0b", 3)}, {}, "", ""}), Error);
    CHECK_THROWS_AS(ramdisk(layer, {{"a"}, {"NOEQUALS"}, "", ""}), Error);
    CHECK_THROWS_AS(ramdisk(layer, {{"a"}, {std::string("K=a\0b", 6)}, "", ""}), Error);
    CHECK_THROWS_AS(ramdisk(layer, {{"a"}, {}, "relative", ""}), Error);
    CHECK_THROWS_AS(ramdisk(layer, {{"a"}, {}, "/a\nb", ""}), Error);
    CHECK_THROWS_AS(ramdisk(layer, {{"a"}, {}, "", "u\nser"}), Error);
  }

  TEST_CASE("cmd and env keep nitro-cli's lines unless an item holds a line break") {
    using namespace std::string_literals;
    const Bytes layer = TarBuilder().file("x", "x").finish();
    const auto plain = parse(ramdisk(layer, {{"/bin/sh", "-c", "echo a"}, {"A=1", "B="}, "", ""}));
    CHECK(member(plain, "cmd")->data == "/bin/sh\n-c\necho a\n");
    CHECK(member(plain, "env")->data == "A=1\nB=\n");
    // A Dockerfile's `RUN`-style command with a line break, and an env value with one: each list
    // becomes NUL-terminated items, independently of the other.
    const auto multi =
        parse(ramdisk(layer, {{"/bin/sh", "-c", "echo a\necho b"}, {"A=1", "B=x\r\ny"}, "", ""}));
    CHECK(member(multi, "cmd")->data == "/bin/sh\0-c\0echo a\necho b\0"s);
    CHECK(member(multi, "env")->data == "A=1\0B=x\r\ny\0"s);
    const auto mixed =
        parse(ramdisk(layer, {{"/bin/sh", "-c", "echo a\necho b"}, {"A=1"}, "", ""}));
    CHECK(member(mixed, "env")->data == "A=1\n");
  }

  TEST_CASE("the bootstrap ramdisk holds dev/, init and nsm.ko") {
    const std::string init = "\x7f"
                             "ELF init";
    const std::string nsm = "module";
    MemorySource i(as_bytes(init), "init");
    MemorySource n(as_bytes(nsm), "nsm.ko");
    VectorSink out;
    write_bootstrap_ramdisk(i, &n, {}, out);
    const auto all = parse(out.bytes());
    REQUIRE(all.size() == 3);
    CHECK(all[0].name == "dev");
    CHECK(all[0].mode == (0040000u | 0755u));
    CHECK(all[1].name == "init");
    CHECK(all[1].mode == (0100000u | 0755u));
    CHECK(all[1].data == init);
    CHECK(all[2].name == "nsm.ko");
  }

  TEST_CASE("cpio refuses files of 4 GiB and more") {
    VectorSink out;
    CpioWriter w(out);
    CpioHeader h;
    h.name = "big";
    h.filesize = 1ull << 32;
    MemorySource empty(ByteView(), "big");
    CHECK_THROWS_WITH_AS(
        w.add(h, empty),
        "cpio entry `big`: size 4294967296 does not fit newc's 32-bit field (files "
        "must be smaller than 4 GiB)",
        Error);
  }

  TEST_CASE("gzip output is deterministic and has no name or time") {
    Bytes data(100000);
    for (std::size_t i = 0; i < data.size(); ++i) {
      data[i] = static_cast<std::uint8_t>(i * 7 % 251);
    }
    auto compress = [&] {
      VectorSink out;
      GzipSink gz(out);
      gz.write(data);
      gz.finish();
      return out.bytes();
    };
    const Bytes a = compress();
    CHECK(a == compress());
    REQUIRE(a.size() > 10);
    CHECK(a[0] == 0x1f);
    CHECK(a[1] == 0x8b);
    CHECK((a[3] & 0x08) == 0);               // FNAME not set
    CHECK((a[4] | a[5] | a[6] | a[7]) == 0); // MTIME = 0
    CHECK(a[9] == 3);                        // OS = Unix
  }
}
