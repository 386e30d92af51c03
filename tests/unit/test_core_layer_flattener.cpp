#include "core/error.hpp"
#include "core/layer_flattener.hpp"
#include "core/rootfs_listing.hpp"
#include "tests/unit/tar_builder.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using test::TarBuilder;

namespace {

struct Flat {
  MemorySpool spool;
  LayerFlattener flattener{spool};
  void apply(const Bytes& tar, const std::string& name = "layer 1") {
    MemorySource in(tar, name);
    flattener.apply_layer(in, name);
  }
  const FileNode* find(const std::string& p) const { return flattener.tree().find(p); }
  std::string content(const std::string& p) const {
    const FileNode* n = find(p);
    REQUIRE(n != nullptr);
    auto src = spool.open(n->content);
    Bytes b(static_cast<std::size_t>(n->content.size));
    read_exact(*src, b, p);
    return std::string(b.begin(), b.end());
  }
  std::string listing() const {
    VectorSink out;
    write_rootfs_listing(flattener.tree(), out);
    return std::string(out.bytes().begin(), out.bytes().end());
  }
};

// Counts the bytes read through it (how far into a layer the flattener got).
class CountingSource final : public ByteSource {
public:
  explicit CountingSource(ByteSource& inner) : inner_(inner) {}
  std::uint64_t size() const override { return inner_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override {
    const std::size_t n = inner_.read(out);
    read_ += n;
    return n;
  }
  std::string describe() const override { return inner_.describe(); }
  std::uint64_t bytes_read() const { return read_; }

private:
  ByteSource& inner_;
  std::uint64_t read_ = 0;
};

// An interrupt that throws Cancelled from its `stop_at`-th call on (0: never).
struct StopAfter {
  int stop_at = 0;
  int calls = 0;
  Interrupt hook() {
    return [this] {
      if (++calls == stop_at || (stop_at > 0 && calls > stop_at)) {
        throw Error(ErrorCode::Cancelled, "build cancelled on request");
      }
    };
  }
};

Bytes many_files(int n) {
  TarBuilder tar;
  for (int i = 0; i < n; ++i) {
    tar.file("d/f" + std::to_string(i), "x");
  }
  return tar.finish();
}

std::string error_of(Flat& f, const Bytes& tar, const std::string& layer = "layer 1") {
  try {
    f.apply(tar, layer);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_SUITE("core::LayerFlattener") {
  TEST_CASE("files, directories, links, devices and modes come through as the layer says") {
    Flat f;
    f.apply(TarBuilder()
                .dir("etc/", 0755)
                .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644)
                .file("bin/su", "x", 04755, 0, 0)
                .dir("tmp", 01777)
                .file("home/app/data", "d", 0600, 12345, 54321)
                .symlink("etc/abs", "/etc/passwd")
                .device("dev/null", false, 1, 3)
                .device("dev/sda", true, 8, 0)
                .fifo("run/pipe")
                .file("données/ü.txt", "utf8")
                .finish());
    CHECK(f.find("bin/su")->mode == 04755);
    CHECK(f.find("tmp")->mode == 01777);
    CHECK(f.find("home/app/data")->uid == 12345);
    CHECK(f.find("home/app/data")->gid == 54321);
    CHECK(f.find("home")->type == FileType::Directory); // implied parent
    CHECK(f.find("etc/abs")->link_target == "/etc/passwd");
    CHECK(f.find("dev/sda")->type == FileType::BlockDevice);
    CHECK(f.find("dev/null")->rdev_minor == 3);
    CHECK(f.find("run/pipe")->type == FileType::Fifo);
    CHECK(f.content("données/ü.txt") == "utf8");
    CHECK(f.listing().find("bin/su\tfile\t4755\t0:0\t1\t") != std::string::npos);
  }

  TEST_CASE(
      "whiteouts remove lower-layer files and whole directories, and never reach the output") {
    Flat f;
    f.apply(TarBuilder().file("a/keep", "k").file("a/gone", "g").file("d/x/y", "y").finish());
    f.apply(TarBuilder().file("a/.wh.gone", "").file(".wh.d", "").file("a/new", "n").finish(),
            "layer 2");
    CHECK(f.find("a/gone") == nullptr);
    CHECK(f.find("d") == nullptr);
    CHECK(f.find("d/x/y") == nullptr);
    CHECK(f.find("a/keep") != nullptr);
    CHECK(f.listing().find(".wh.") == std::string::npos);
  }

  TEST_CASE(
      "an opaque marker clears lower content even when it comes after the layer's own entries") {
    Flat f;
    f.apply(TarBuilder().file("o/old1", "1").file("o/sub/old2", "2").finish());
    f.apply(TarBuilder().file("o/new", "n").file("o/.wh..wh..opq", "").finish(), "layer 2");
    CHECK(f.find("o/old1") == nullptr);
    CHECK(f.find("o/sub") == nullptr);
    CHECK(f.content("o/new") == "n");
  }

  TEST_CASE("a file replaced by a directory and back") {
    Flat f;
    f.apply(TarBuilder().file("x", "file").finish());
    f.apply(TarBuilder().dir("x").file("x/inner", "i").finish(), "layer 2");
    CHECK(f.find("x")->type == FileType::Directory);
    CHECK(f.content("x/inner") == "i");
    f.apply(TarBuilder().file("x", "file again").finish(), "layer 3");
    CHECK(f.find("x")->type == FileType::Regular);
    CHECK(f.find("x/inner") == nullptr);
  }

  TEST_CASE("a hardlink keeps its content when the target is later removed or replaced") {
    Flat f;
    f.apply(TarBuilder()
                .file("orig", "v1")
                .hardlink("link", "orig")
                .file("other", "o")
                .hardlink("l2", "other")
                .finish());
    CHECK(f.find("link")->link_group != 0);
    CHECK(f.find("link")->link_group == f.find("orig")->link_group);
    f.apply(TarBuilder().file(".wh.orig", "").file("other", "replaced").finish(), "layer 2");
    CHECK(f.find("orig") == nullptr);
    CHECK(f.content("link") == "v1");
    CHECK(f.content("l2") == "o");
    CHECK(f.content("other") == "replaced");
  }

  TEST_CASE("a hardlink across layers points at the lower layer's file") {
    Flat f;
    f.apply(TarBuilder().file("data/original.txt", "hardlink content\n").finish());
    f.apply(TarBuilder().hardlink("data/link.txt", "data/original.txt").finish(), "layer 2");
    CHECK(f.content("data/link.txt") == "hardlink content\n");
  }

  TEST_CASE("symlinked parents are followed inside the root") {
    Flat f;
    f.apply(TarBuilder().dir("etc").symlink("abs", "/etc").symlink("rel", "etc").finish());
    f.apply(TarBuilder().file("abs/inside.txt", "a").file("rel/also.txt", "b").finish(), "layer 2");
    CHECK(f.content("etc/inside.txt") == "a");
    CHECK(f.content("etc/also.txt") == "b");
    CHECK(f.find("abs")->type == FileType::Symlink);
  }

  TEST_CASE("extended attributes are dropped and the paths recorded") {
    Flat f;
    f.apply(TarBuilder().file_with_xattr("etc/cap", "c").finish());
    CHECK(f.flattener.xattr_paths() == std::vector<std::string>{"etc/cap"});
    CHECK(f.content("etc/cap") == "c");
  }

  TEST_CASE("the same filesystem in different layerings gives the same tree") {
    Flat one, two;
    one.apply(TarBuilder().dir("a").file("a/x", "x").file("a/y", "y").symlink("s", "a/x").finish());
    two.apply(TarBuilder().file("a/x", "old").file("junk", "j").finish());
    two.apply(TarBuilder().dir("a").file("a/x", "x").file(".wh.junk", "").finish(), "layer 2");
    two.apply(TarBuilder().file("a/y", "y").symlink("s", "a/x").finish(), "layer 3");
    CHECK(one.listing() == two.listing());
  }

  TEST_CASE("hostile layers are rejected with the layer, the entry and the reason") {
    Flat f;
    CHECK(error_of(f, TarBuilder().file("../../etc/passwd", "x").finish()) ==
          "layer 1: entry `../../etc/passwd` escapes the root; rejected");
    CHECK(error_of(f, TarBuilder().file("/../x", "x").finish()) ==
          "layer 1: entry `/../x` escapes the root; rejected");
    CHECK(error_of(f, TarBuilder().hardlink("l", "missing").finish()) ==
          "layer 1: entry `l` is a hardlink to `missing`, which does not exist; rejected");
    CHECK(
        error_of(f, TarBuilder().hardlink("l", "../../etc/shadow").finish()) ==
        "layer 1: entry `l` is a hardlink to `../../etc/shadow`, which escapes the root; rejected");
    CHECK(
        error_of(f, TarBuilder().symlink("up", "../../..").file("up/escaped.txt", "x").finish()) ==
        "layer 1: entry `up/escaped.txt` goes through the symlink `up` -> `../../..`, which "
        "leaves the root; rejected");
    CHECK(error_of(f, TarBuilder().symlink("loop", "loop").file("loop/x", "x").finish()) ==
          "layer 1: entry `loop/x` passes through too many symbolic links; rejected");
    CHECK(error_of(f, TarBuilder().dir("d").hardlink("h", "d").finish()) ==
          "layer 1: entry `h` is a hardlink to the directory `d`; rejected");
  }

  TEST_CASE("a chain of links that doubles at each step is cut off after 40 links, quickly") {
    // l0 -> l1/l1, l1 -> l2/l2, ... : resolving per branch would cost 2^N lookups.
    TarBuilder chain;
    const int n = 60;
    for (int k = 0; k < n; ++k) {
      chain.symlink("l" + std::to_string(k),
                    "l" + std::to_string(k + 1) + "/l" + std::to_string(k + 1));
    }
    chain.symlink("l" + std::to_string(n), ".").file("l0/x", "x");
    Flat f;
    CHECK(error_of(f, chain.finish()) ==
          "layer 1: entry `l0/x` passes through too many symbolic links; rejected");
  }

  TEST_CASE("names longer than PATH_MAX and whiteouts of nothing are refused") {
    std::string deep;
    for (int i = 0; i < 3000; ++i) {
      deep += "a/";
    }
    Flat f;
    CHECK(error_of(f, TarBuilder().file(deep + "f", "x").finish()) ==
          "layer 1: an entry name or link target of 6001 bytes is longer than PATH_MAX (4096); "
          "rejected");
    Flat g;
    g.apply(TarBuilder().file("etc/passwd", "p").finish());
    CHECK(error_of(g, TarBuilder().file("etc/.wh.", "").finish(), "layer 2") ==
          "layer 2: entry `etc/.wh.` is a whiteout that names no file; rejected");
    CHECK(g.find("etc/passwd") != nullptr);
  }

  TEST_CASE("absurd sizes, truncation and too many entries hit clear limits") {
    Flat f;
    CHECK(error_of(f, TarBuilder().truncated_file("huge", 1ull << 50).finish()) ==
          "layer 1: entry `huge` declares 1125899906842624 bytes, beyond the image size limit "
          "of 8589934592 bytes");
    Flat g;
    const std::string trunc = error_of(g, TarBuilder().truncated_file("short", 5000).finish());
    CHECK(trunc == "layer 1: reading short: Truncated tar archive");
    MemorySpool spool;
    LayerFlattener limited(spool, FlattenLimits{1 << 20, 3});
    TarBuilder many;
    for (int i = 0; i < 5; ++i) {
      many.file("f" + std::to_string(i), "x");
    }
    const Bytes tar = many.finish();
    MemorySource in(tar, "layer 1");
    CHECK_THROWS_WITH_AS(limited.apply_layer(in, "layer 1"),
                         "layer 1: more than 3 entries in the image (the configured limit)", Error);
    // A limit is the image's size, not the caller's mistake: limit_exceeded (CLI exit 1).
    Flat h;
    const Bytes huge = TarBuilder().truncated_file("huge", 1ull << 50).finish();
    CHECK(test::code_of([&] { h.apply(huge, "layer 1"); }) == ErrorCode::LimitExceeded);
    MemorySource again(tar, "layer 1");
    CHECK(test::code_of([&] {
            LayerFlattener(spool, FlattenLimits{1 << 20, 3}).apply_layer(again, "layer 1");
          }) == ErrorCode::LimitExceeded);
  }

  TEST_CASE("long names run into the file list's memory budget, few entries or not") {
    // Three entries with 2,000-byte names are at least 3 x 2 x 2,000 bytes of file list
    // (each name is held while the layer is read and again in the tree): past a 10,000-byte
    // budget whatever an entry's fixed cost, though far below the entry limit.
    TarBuilder tar;
    for (int i = 0; i < 3; ++i) {
      tar.file(std::string(1990, static_cast<char>('a' + i)) + "/name", "x");
    }
    const Bytes layer = tar.finish();
    MemorySpool spool;
    MemorySource in(layer, "layer 1");
    const FlattenLimits tight{1 << 20, 100, 10'000};
    LayerFlattener limited(spool, tight);
    const std::string why = test::error_of([&] { limited.apply_layer(in, "layer 1"); });
    CHECK(why.find("layer 1: the image's file list needs more than 10000 bytes of memory") == 0);
    MemorySource again(layer, "layer 1");
    CHECK(test::code_of([&] { LayerFlattener(spool, tight).apply_layer(again, "layer 1"); }) ==
          ErrorCode::LimitExceeded);
    MemorySource roomy(layer, "layer 1"); // the same layer within 1 MiB: applied
    LayerFlattener fits(spool, FlattenLimits{1 << 20, 100, 1 << 20});
    fits.apply_layer(roomy, "layer 1");
    CHECK(fits.tree().find(std::string(1990, 'c') + "/name") != nullptr);
  }

  TEST_CASE("garbage is reported as a corrupt layer, never a crash") {
    Flat f;
    Bytes junk(1500, 0x41);
    const std::string msg = error_of(f, junk);
    CHECK(msg == "layer 1: not a valid archive: Unrecognized archive format");
  }

  TEST_CASE("the interrupt is consulted every so many entries while a layer is read") {
    MemorySpool spool;
    StopAfter never;
    LayerFlattener flattener(spool, {}, never.hook());
    const Bytes tar = many_files(1000);
    MemorySource in(tar, "layer 1");
    flattener.apply_layer(in, "layer 1");
    // At least one call per kInterruptEveryEntries entries (bytes add a few more).
    CHECK(never.calls >= static_cast<int>(1000 / kInterruptEveryEntries));
    CHECK(flattener.tree().find("d/f999") != nullptr);
  }

  TEST_CASE("a stop between entries ends the layer before any of its entries is applied") {
    MemorySpool spool;
    StopAfter stop;
    LayerFlattener flattener(spool, {}, stop.hook());
    const Bytes first = TarBuilder().file("kept", "lower layer").finish();
    MemorySource in1(first, "layer 1");
    flattener.apply_layer(in1, "layer 1");
    stop.stop_at = stop.calls + 3; // the layer's first read, entry 0, then entry 256
    const Bytes second = many_files(2000);
    MemorySource inner(second, "layer 2");
    CountingSource in2(inner);
    CHECK_THROWS_WITH_AS(flattener.apply_layer(in2, "layer 2"), "build cancelled on request",
                         Error);
    CHECK(in2.bytes_read() < second.size()); // stopped part-way, not at the end
    CHECK(flattener.tree().find("kept") != nullptr);
    CHECK(flattener.tree().find("d") == nullptr); // none of layer 2's entries were applied
  }

  TEST_CASE("a stop inside a large file's content ends the layer within a few MiB") {
    MemorySpool spool;
    StopAfter stop{2};
    LayerFlattener flattener(spool, {}, stop.hook());
    const std::string big(48u << 20, '\0');
    const Bytes tar = TarBuilder().file("big.bin", big).finish();
    MemorySource inner(tar, "layer 1");
    CountingSource in(inner);
    try {
      flattener.apply_layer(in, "layer 1");
      FAIL("the layer was applied despite the interrupt");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::Cancelled);
      CHECK(std::string(e.what()) == "build cancelled on request");
    }
    // The second check comes after kInterruptEveryBytes; libarchive reads ahead a little.
    CHECK(in.bytes_read() < tar.size() / 2);
  }
}
