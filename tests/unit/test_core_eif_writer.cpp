#include "core/eif_reader.hpp"
#include "core/eif_writer.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "tests/unit/eif_vector_inputs.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <memory>
#include <optional>

using namespace oci2eif;

namespace {

void check_result_matches_vector(const EifWriteResult& r, const nlohmann::json& v) {
  CHECK(to_hex(r.measurements.pcr0) == v["measurements"]["PCR0"]);
  CHECK(to_hex(r.measurements.pcr1) == v["measurements"]["PCR1"]);
  CHECK(to_hex(r.measurements.pcr2) == v["measurements"]["PCR2"]);
  REQUIRE(r.sections.size() == v["sections"].size());
  for (std::size_t i = 0; i < r.sections.size(); ++i) {
    CHECK(section_type_name(static_cast<std::uint16_t>(r.sections[i].type)) ==
          v["sections"][i]["type"]);
    CHECK(r.sections[i].offset == v["sections"][i]["offset"]);
  }
}

// A source that announces one size and yields another (a file changing under the build).
class LyingSource final : public ByteSource {
public:
  LyingSource(std::uint64_t announced, std::size_t actual)
      : announced_(announced), data_(actual, 7) {}
  std::uint64_t size() const override { return announced_; }
  std::size_t read(std::span<std::uint8_t> out) override { return inner_.read(out); }
  std::string describe() const override { return "ramdisk.cpio"; }

private:
  std::uint64_t announced_;
  Bytes data_;
  MemorySource inner_{data_, "inner"};
};

// What a ramdisk pipe hands back, made here on the calling thread before it is read: a source of
// unknown size that yields the writer's bytes in reads of at most 777 bytes.
class MadeRamdisk final : public ByteSource {
public:
  explicit MadeRamdisk(const RamdiskWriter& write) {
    write(made_);
    inner_.emplace(made_.bytes(), "inner");
  }
  std::uint64_t size() const override { return kUnknownSize; }
  std::size_t read(std::span<std::uint8_t> out) override {
    return inner_->read(out.subspan(0, std::min<std::size_t>(out.size(), 777)));
  }
  std::string describe() const override { return "made ramdisk"; }

private:
  VectorSink made_;
  std::optional<MemorySource> inner_;
};

} // namespace

TEST_SUITE("core::EifWriter") {
  TEST_CASE("unsigned vectors A, B, D and E are reproduced byte for byte") {
    struct Case {
      char name;
      std::vector<std::string> ramdisks;
      Arch arch;
      bool custom_metadata;
    };
    const std::vector<Case> cases = {
        {'a', {"ramdisk-bootstrap.cpio", "ramdisk-customer.cpio"}, Arch::X86_64, false},
        {'b', {"ramdisk-bootstrap.cpio", "ramdisk-customer.cpio"}, Arch::Aarch64, true},
        {'d', {"ramdisk-bootstrap.cpio"}, Arch::X86_64, false},
        {'e',
         {"ramdisk-bootstrap.cpio", "ramdisk-customer.cpio", "ramdisk-extra.bin"},
         Arch::X86_64,
         false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      const auto& expected = test::vectors_json()["vectors"][std::string(1, c.name)];
      auto in = test::vector_inputs(c.ramdisks);
      in->contents.arch = c.arch;
      if (c.custom_metadata) {
        in->contents.metadata.custom_metadata =
            parse_custom_metadata(test::read_file(test::vector_input("custom-metadata.json")), "m");
      }
      VectorSink out;
      const EifWriteResult r = write_eif(in->contents, out);
      CHECK(test::sha256_hex(out.bytes()) == expected["sha256"]);
      CHECK(out.bytes() == test::read_file(test::vector_file(c.name)));
      CHECK(r.size == expected["size"]);
      check_result_matches_vector(r, expected);
      CHECK_FALSE(r.measurements.pcr8.has_value());
    }
  }

  TEST_CASE("signing with vector C's key gives vector C's PCRs and a section the reader verifies") {
    const auto& expected = test::vectors_json()["vectors"]["c"];
    auto in = test::vector_inputs({"ramdisk-bootstrap.cpio", "ramdisk-customer.cpio"});
    const EifSigner signer = EifSigner::load(test::vector_input("signing-cert-p384.pem"),
                                             test::vector_input("signing-key-p384.pem"));
    in->contents.signer = &signer;
    VectorSink out;
    const EifWriteResult r = write_eif(in->contents, out);
    check_result_matches_vector(r, expected);
    REQUIRE(r.measurements.pcr8.has_value());
    CHECK(to_hex(*r.measurements.pcr8) == expected["measurements"]["PCR8"]);
    // Everything before the signature is deterministic and equals AWS's bytes, header aside.
    const Bytes reference = test::read_file(test::vector_file('c'));
    const std::size_t sig_offset = expected["sections"][5]["offset"];
    CHECK(std::equal(out.bytes().begin() + 548, out.bytes().begin() + sig_offset,
                     reference.begin() + 548));
    MemorySource back(out.bytes(), "signed.eif");
    const EifInfo info = read_eif(back, "signed.eif", {});
    CHECK(info.measurements.pcr8 == r.measurements.pcr8);
    CHECK(info.signature.has_value());
  }

  TEST_CASE("ramdisks streamed without a size in advance give AWS's bytes for vectors A and E") {
    // A writer that copies the file in odd-sized writes, as a cpio writer's headers, names and
    // contents come: the section header is patched afterwards and the CRC combined around it.
    const auto streamed = [](const std::string& name) {
      return RamdiskWriter([name](ByteSink& out) {
        const Bytes data = test::read_file(test::vector_input(name));
        for (std::size_t at = 0; at < data.size(); at += 1021) {
          out.write(ByteView(data).subspan(at, std::min<std::size_t>(1021, data.size() - at)));
        }
      });
    };
    struct Case {
      char name;
      std::vector<std::string> sources, streams;
    };
    const std::vector<Case> cases = {
        {'a', {}, {"ramdisk-bootstrap.cpio", "ramdisk-customer.cpio"}},
        {'a', {"ramdisk-bootstrap.cpio"}, {"ramdisk-customer.cpio"}},
        {'e', {"ramdisk-bootstrap.cpio"}, {"ramdisk-customer.cpio", "ramdisk-extra.bin"}},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      CAPTURE(c.sources.size());
      const auto& expected = test::vectors_json()["vectors"][std::string(1, c.name)];
      const auto inputs = [&] {
        auto in = test::vector_inputs(c.sources);
        for (const std::string& r : c.streams) {
          in->contents.streamed_ramdisks.push_back(streamed(r));
        }
        return in;
      };
      auto in = inputs();
      VectorSink out;
      const EifWriteResult r = write_eif(in->contents, out);
      CHECK(test::sha256_hex(out.bytes()) == expected["sha256"]);
      CHECK(r.size == expected["size"]);
      check_result_matches_vector(r, expected);

      // The same through a ramdisk pipe, with each chunk's tasks run last to first: reading the
      // next chunk, writing this one and hashing it do not depend on each other's order.
      in = inputs();
      in->contents.ramdisk_pipe = [](const RamdiskWriter& write) -> std::unique_ptr<ByteSource> {
        return std::make_unique<MadeRamdisk>(write);
      };
      in->contents.run_all = [](std::span<const Task> tasks) {
        for (auto t = tasks.rbegin(); t != tasks.rend(); ++t) {
          (*t)();
        }
      };
      VectorSink piped;
      const EifWriteResult rp = write_eif(in->contents, piped);
      CHECK(test::sha256_hex(piped.bytes()) == expected["sha256"]);
      check_result_matches_vector(rp, expected);
    }
  }

  TEST_CASE("what a streamed ramdisk's writer throws ends the write with that error") {
    auto in = test::vector_inputs({"ramdisk-bootstrap.cpio"});
    in->contents.streamed_ramdisks.push_back([](ByteSink& out) {
      out.write(as_bytes(std::string(3000, 'x')));
      throw Error(ErrorCode::LimitExceeded, "the EIF would be larger than its limit");
    });
    VectorSink out;
    CHECK_THROWS_WITH_AS(write_eif(in->contents, out), "the EIF would be larger than its limit",
                         Error);
  }

  TEST_CASE("contents the format cannot hold are refused before anything is written") {
    auto in = test::vector_inputs({});
    VectorSink out;
    CHECK_THROWS_WITH_AS(write_eif(in->contents, out), "an EIF needs at least one ramdisk", Error);
    auto many = test::vector_inputs(std::vector<std::string>(30, "ramdisk-extra.bin"));
    CHECK_THROWS_WITH_AS(write_eif(many->contents, out),
                         "30 ramdisks need 33 sections; an EIF holds at most 32", Error);
    auto nul = test::vector_inputs({"ramdisk-extra.bin"});
    nul->contents.cmdline = std::string("console=ttyS0\0x", 15);
    CHECK_THROWS_WITH_AS(write_eif(nul->contents, out),
                         "the kernel command line contains a NUL byte", Error);
    CHECK(out.bytes().empty());
  }

  TEST_CASE("an input that shrinks or grows while it is read fails the write") {
    auto in = test::vector_inputs({});
    VectorSink out;
    LyingSource shrinking(100, 60);
    in->contents.ramdisks = {&shrinking};
    CHECK_THROWS_WITH_AS(write_eif(in->contents, out),
                         "ramdisk.cpio: shrank while being read (40 bytes missing)", Error);
    auto fresh = test::vector_inputs({});
    LyingSource growing(100, 101);
    fresh->contents.ramdisks = {&growing};
    VectorSink out2;
    CHECK_THROWS_WITH_AS(write_eif(fresh->contents, out2), "ramdisk.cpio: grew while being read",
                         Error);
  }

  TEST_CASE("an aarch64 image sets header flag bit 0 and changes no PCR") {
    auto x86 = test::vector_inputs({"ramdisk-bootstrap.cpio"});
    auto arm = test::vector_inputs({"ramdisk-bootstrap.cpio"});
    arm->contents.arch = Arch::Aarch64;
    VectorSink a, b;
    const auto ra = write_eif(x86->contents, a);
    const auto rb = write_eif(arm->contents, b);
    CHECK(a.bytes()[7] == 0);
    CHECK(b.bytes()[7] == 1);
    CHECK(ra.measurements.pcr0 == rb.measurements.pcr0);
  }
}
