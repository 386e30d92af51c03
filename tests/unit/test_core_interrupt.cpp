// The Interrupt adapters: when the hook is consulted, and that what it throws stops the stream.
#include "core/error.hpp"
#include "core/interrupt.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

namespace {

// Reads `in` in `chunk`-byte reads to its end; returns the bytes read.
std::size_t read_all(ByteSource& in, std::size_t chunk) {
  Bytes buffer(chunk);
  std::size_t total = 0;
  for (std::size_t n; (n = in.read(buffer)) > 0;) {
    total += n;
  }
  return total;
}

} // namespace

TEST_SUITE("core::Interrupt") {
  TEST_CASE("a source consults the interrupt before its first read and then every N bytes") {
    const Bytes data(35, 7);
    MemorySource inner(data, "data");
    int calls = 0;
    InterruptingSource in(
        inner, [&] { ++calls; }, 10);
    CHECK(read_all(in, 5) == 35);
    // Reads of 5: checks before bytes 0, 10, 20, 30 (and none for the final empty read, whose
    // budget is not spent yet).
    CHECK(calls == 4);
  }

  TEST_CASE("what the interrupt throws ends the read, and nothing more is read from the source") {
    const Bytes data(100, 1);
    MemorySource inner(data, "data");
    int calls = 0;
    InterruptingSource in(
        inner,
        [&] {
          if (++calls == 3) {
            throw Error(ErrorCode::Cancelled, "stopped by the test");
          }
        },
        10);
    Bytes buffer(10);
    CHECK(in.read(buffer) == 10);
    CHECK(in.read(buffer) == 10);
    CHECK_THROWS_WITH_AS(in.read(buffer), "stopped by the test", Error);
    CHECK(inner.read(buffer) == 10); // the source is still at byte 20
  }

  TEST_CASE("a sink consults the interrupt before its first write and then every N bytes") {
    VectorSink inner;
    int calls = 0;
    InterruptingSink out(
        inner,
        [&] {
          if (++calls == 3) {
            throw Error(ErrorCode::Timeout, "too slow");
          }
        },
        8);
    const Bytes chunk(4, 2);
    for (int i = 0; i < 4; ++i) {
      out.write(chunk); // checks before bytes 0 and 8
    }
    CHECK(calls == 2);
    CHECK_THROWS_WITH_AS(out.write(chunk), "too slow", Error);
    CHECK(inner.bytes().size() == 16); // the refused write never reached the sink
  }

  TEST_CASE("without an interrupt the adapters only pass bytes through") {
    const Bytes data(50, 3);
    MemorySource inner(data, "data");
    InterruptingSource in(inner, {}, 1);
    CHECK(read_all(in, 7) == 50);
    VectorSink sink;
    InterruptingSink out(sink, {}, 1);
    out.write(data);
    CHECK(sink.bytes() == data);
  }
}
