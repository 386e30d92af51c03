#include "core/cpio_reader.hpp"
#include "core/error.hpp"
#include "core/gzip_sink.hpp"
#include "core/ramdisk_index.hpp"
#include "tests/unit/test_support.hpp"

#include <cstdio>
#include <doctest/doctest.h>

using namespace oci2eif;

namespace {

// One newc member written by hand (independent of core/cpio_writer): header, name, NUL,
// padding, data, padding.
std::string newc(const std::string& name, std::uint32_t mode, const std::string& data,
                 std::uint32_t ino = 1, std::uint32_t nlink = 1, const char* magic = "070701") {
  char header[111];
  std::snprintf(header, sizeof header, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08zx%08x",
                magic, ino, mode, 0u, 0u, nlink, 1234u, static_cast<unsigned>(data.size()), 0u, 0u,
                0u, 0u, name.size() + 1, 0u);
  std::string out = std::string(header) + name + '\0';
  out.resize((out.size() + 3) & ~std::size_t{3}, '\0');
  out += data;
  out.resize((out.size() + 3) & ~std::size_t{3}, '\0');
  return out;
}

std::string trailer() {
  return newc("TRAILER!!!", 0, "");
}

RamdiskIndex index_of(const std::string& archive, const RamdiskIndexOptions& options = {}) {
  MemorySource in(as_bytes(archive), "test archive");
  return index_ramdisk(in, "ramdisk 1", options);
}

std::string corrupt_message(const std::string& archive) {
  CHECK(test::code_of([&] { index_of(archive); }) == ErrorCode::Corrupt);
  return test::error_of([&] { index_of(archive); });
}

} // namespace

TEST_SUITE("core::ramdisk_index") {
  TEST_CASE("a ramdisk made by AWS's tools lists as GNU cpio lists it") {
    // Expected values from `cpio -itv` and sha256sum of the files `cpio -id` unpacked.
    const Bytes raw = test::read_file(test::vector_input("ramdisk-customer.cpio"));
    MemorySource in(raw, "customer");
    const RamdiskIndex idx = index_ramdisk(in, "customer", {.keep_content = {"cmd"}});
    std::vector<std::string> names;
    for (const auto& [name, m] : idx) {
      names.push_back(name);
      CHECK(m.mtime == 1492533000);
      CHECK(m.uid == 0);
    }
    CHECK(names == std::vector<std::string>{"cmd", "env", "rootfs", "rootfs/bin",
                                            "rootfs/bin/hello", "rootfs/dev", "rootfs/etc",
                                            "rootfs/etc/hosts", "rootfs/proc", "rootfs/run",
                                            "rootfs/sys", "rootfs/tmp", "rootfs/var"});
    const RamdiskMember& hello = idx.at("rootfs/bin/hello");
    CHECK(hello.mode == 0100755);
    CHECK(hello.size == 24);
    CHECK(to_hex(hello.sha256) ==
          "bad86f125d5518e3d4a48653862b0248c7118227207bc2f4765fb1379daf66ac");
    CHECK(file_type_name(idx.at("rootfs/etc").mode) == "dir");
    CHECK(idx.at("cmd").content == "/bin/hello\n--greeting\nhello world\n");
    CHECK(idx.at("env").content.empty()); // not asked for
  }

  TEST_CASE("gzip-compressed ramdisks list the same as plain ones") {
    const Bytes raw = test::read_file(test::vector_input("ramdisk-customer.cpio"));
    VectorSink gz;
    GzipSink sink(gz, 9);
    sink.write(raw);
    sink.finish();
    MemorySource plain(raw, "plain");
    MemorySource packed(gz.bytes(), "packed");
    const RamdiskIndex a = index_ramdisk(plain, "plain");
    const RamdiskIndex b = index_ramdisk(packed, "packed");
    REQUIRE(a.size() == b.size());
    CHECK(b.at("rootfs/etc/hosts").sha256 == a.at("rootfs/etc/hosts").sha256);
  }

  TEST_CASE("concatenated archives, symlinks, devices and a name archived twice") {
    const std::string first = newc("a", 0100644, "old") + newc("l", 0120777, "target/x") +
                              trailer() + std::string(512, '\0');
    std::string second = newc("a", 0100600, "new!") + newc("dev", 0020666, "") + trailer();
    const RamdiskIndex idx = index_of(first + second);
    REQUIRE(idx.size() == 3);
    CHECK(idx.at("a").mode == 0100600);
    CHECK(to_hex(idx.at("a").sha256) == test::sha256_hex(as_bytes("new!")));
    CHECK(idx.at("l").link_target == "target/x");
    CHECK(file_type_name(idx.at("dev").mode) == "char");
    CHECK(index_of(newc("a", 0100644, "", 1, 1, "070702") + trailer()).size() == 1);
    CHECK(index_of("").empty());
  }

  TEST_CASE("hardlinks share the content, wherever the archive put it") {
    // oci2eif stores the data with the first name, GNU cpio with the last.
    for (const bool data_first : {true, false}) {
      const std::string archive = newc("x", 0100644, data_first ? "shared" : "", 7, 2) +
                                  newc("y", 0100644, data_first ? "" : "shared", 7, 2) + trailer();
      const RamdiskIndex idx = index_of(archive);
      CHECK(idx.at("x").size == 6);
      CHECK(idx.at("y").sha256 == idx.at("x").sha256);
      CHECK(idx.at("y").hardlink_of == "x");
      CHECK(idx.at("x").hardlink_of.empty());
    }
  }

  TEST_CASE("hostile archives are refused with where and why") {
    const std::string good = newc("file", 0100644, "content") + trailer();
    for (const std::size_t cut : {std::size_t{3}, std::size_t{50}, std::size_t{112},
                                  std::size_t{120}, good.size() - 120, good.size() - 4}) {
      CAPTURE(cut);
      CHECK(corrupt_message(good.substr(0, cut)).find("ramdisk 1 ends inside") == 0);
    }
    CHECK(corrupt_message("07070X" + good.substr(6)) ==
          "ramdisk 1 has no newc cpio header (magic 070701) where one should start (at byte 0)");
    std::string bad_hex = good;
    bad_hex[20] = 'g';
    CHECK(corrupt_message(bad_hex).find("not 8 hex digits") != std::string::npos);
    CHECK(corrupt_message(newc("", 0100644, "")).find("member name of 1 bytes") !=
          std::string::npos);
    std::string no_nul = good;
    no_nul[110 + 4] = 'X'; // the name's NUL
    CHECK(corrupt_message(no_nul).find("not one NUL-terminated string") != std::string::npos);
    CHECK(corrupt_message(trailer() + std::string(2, '\0') + good)
              .find("does not start at a multiple of 4") != std::string::npos);
    CHECK(corrupt_message(newc("l", 0120777, std::string(5000, 'x')) + trailer())
              .find("symlink target of 5000 bytes") != std::string::npos);
    CHECK(corrupt_message(newc(std::string(5000, 'n'), 0100644, "")).find("4096") !=
          std::string::npos);
  }
}
