#include "core/eif_writer.hpp"
#include "core/error.hpp"
#include "pipeline/parallel_tasks.hpp"
#include "pipeline/writer_source.hpp"
#include "tests/unit/eif_vector_inputs.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <doctest/doctest.h>

using namespace oci2eif;
using pipeline::WriterSource;

namespace {

// Writes `data` in writes of `step` bytes (the last one shorter).
WriterSource::Writer writing(ByteView data, std::size_t step) {
  return [data, step](ByteSink& out) {
    for (std::size_t at = 0; at < data.size(); at += step) {
      out.write(data.subspan(at, std::min(step, data.size() - at)));
    }
  };
}

} // namespace

TEST_SUITE("pipeline::WriterSource") {
  TEST_CASE("the reader gets exactly what the writer wrote, in order, then the end") {
    const Bytes data = test::pattern_bytes(3 * 1000 * 1000 + 11);
    for (const std::size_t chunk : {std::size_t{1000}, std::size_t{1} << 20}) {
      for (const std::size_t depth : {std::size_t{1}, std::size_t{4}}) {
        for (const std::size_t step : {std::size_t{1}, std::size_t{4099}, std::size_t{1} << 21}) {
          if (step == 1 && chunk != 1000) {
            continue; // a byte at a time through 1 MiB chunks only costs time
          }
          CAPTURE(chunk);
          CAPTURE(depth);
          CAPTURE(step);
          WriterSource made(writing(data, step), "ramdisk", chunk, depth);
          CHECK(test::read_all(made, 777) == data);
          Bytes one(1);
          CHECK(made.read(one) == 0);
          CHECK(made.read(one) == 0);
        }
      }
    }
    WriterSource nothing([](ByteSink&) {}, "empty ramdisk");
    CHECK(test::read_all(nothing, 100).empty());
    CHECK(nothing.size() == kUnknownSize);
    CHECK(nothing.describe() == "empty ramdisk");
  }

  TEST_CASE("what the writer throws reaches the reader after every byte written before it") {
    const Bytes data = test::pattern_bytes(250000);
    WriterSource made(
        [&](ByteSink& out) {
          writing(data, 999)(out);
          throw Error(ErrorCode::LimitExceeded, "the EIF would be larger than its limit");
        },
        "ramdisk", 4096, 2);
    const test::PartialRead got = test::read_until_error(made, 1000);
    CHECK(got.code == ErrorCode::LimitExceeded);
    CHECK(got.error == "the EIF would be larger than its limit");
    CHECK(got.bytes == data);
  }

  TEST_CASE("a reader that stops early stops the writer, which wrote at most its chunks ahead") {
    const Bytes data = test::pattern_bytes(10 * 1000 * 1000);
    std::atomic<std::size_t> written{0};
    std::atomic<bool> returned{false};
    {
      WriterSource made(
          [&](ByteSink& out) {
            for (std::size_t at = 0; at < data.size(); at += 1000) {
              out.write(ByteView(data).subspan(at, 1000));
              written += 1000;
            }
            returned = true;
          },
          "ramdisk", 10000, 3);
      Bytes first(10);
      CHECK(made.read(first) == 10);
      CHECK(Bytes(data.begin(), data.begin() + 10) == first);
    } // joins here: a writer left running would fail under the sanitizers or hang
    CHECK_FALSE(returned.load());
    // At most three chunks in all (the reader's and two filled ahead); at least the reader's,
    // less the write that filled it if that write then found the reader gone.
    CHECK(written.load() <= 3 * 10000);
    CHECK(written.load() >= 10000 - 1000);
  }

  TEST_CASE("as the EIF writer's ramdisk pipe on two threads, AWS's bytes for vector E") {
    const auto& expected = test::vectors_json()["vectors"]["e"];
    auto in = test::vector_inputs({"ramdisk-bootstrap.cpio"});
    Bytes customer = test::read_file(test::vector_input("ramdisk-customer.cpio"));
    Bytes extra = test::read_file(test::vector_input("ramdisk-extra.bin"));
    in->contents.streamed_ramdisks = {writing(customer, 1021), writing(extra, 333)};
    pipeline::ParallelTasks tasks(2);
    in->contents.run_all = tasks.runner();
    in->contents.ramdisk_pipe = [](const RamdiskWriter& write) -> std::unique_ptr<ByteSource> {
      return std::make_unique<WriterSource>(write, "ramdisk", 4096, 3);
    };
    VectorSink out;
    const EifWriteResult r = write_eif(in->contents, out);
    CHECK(test::sha256_hex(out.bytes()) == expected["sha256"]);
    CHECK(to_hex(r.measurements.pcr0) == expected["measurements"]["PCR0"]);
    CHECK(to_hex(r.measurements.pcr2) == expected["measurements"]["PCR2"]);
  }
}
