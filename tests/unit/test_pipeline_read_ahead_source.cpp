#include "core/error.hpp"
#include "pipeline/read_ahead_source.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <doctest/doctest.h>

using namespace oci2eif;
using pipeline::ReadAheadSource;

namespace {

// Yields `data` in reads of at most `step` bytes, then throws `error` if it has one; counts what
// it handed out (from the read-ahead thread, hence atomic).
class ScriptedSource final : public ByteSource {
public:
  ScriptedSource(ByteView data, std::size_t step, std::string error = {})
      : data_(data), step_(step), error_(std::move(error)) {}
  std::uint64_t size() const override { return 123456789; }
  std::size_t read(std::span<std::uint8_t> out) override {
    const std::size_t n = std::min({out.size(), step_, data_.size() - pos_});
    if (n == 0 && !error_.empty()) {
      throw Error(ErrorCode::Corrupt, error_);
    }
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
    pos_ += n;
    handed_out += n;
    return n;
  }
  std::string describe() const override { return "layer 3"; }
  std::atomic<std::size_t> handed_out{0};

private:
  ByteView data_;
  std::size_t step_;
  std::string error_;
  std::size_t pos_ = 0;
};

} // namespace

TEST_SUITE("pipeline::ReadAheadSource") {
  TEST_CASE("the reader gets exactly the bytes of the source, in order") {
    const Bytes data = test::pattern_bytes(3 * 1000 * 1000 + 11);
    for (const std::size_t chunk : {std::size_t{1000}, std::size_t{1} << 20}) {
      for (const std::size_t depth : {std::size_t{1}, std::size_t{4}}) {
        for (const std::size_t read_size :
             {std::size_t{1}, std::size_t{777}, std::size_t{1} << 21}) {
          if (read_size == 1 && chunk != 1000) {
            continue; // a byte at a time through 1 MiB chunks only costs time
          }
          CAPTURE(chunk);
          CAPTURE(depth);
          CAPTURE(read_size);
          ScriptedSource in(data, 4096 + 3);
          ReadAheadSource ahead(in, chunk, depth);
          CHECK(test::read_all(ahead, read_size) == data);
          CHECK(ahead.read(std::span<std::uint8_t>()) == 0);
          Bytes one(1);
          CHECK(ahead.read(one) == 0); // and again: the end stays the end
          CHECK(ahead.read(one) == 0);
        }
      }
    }
    ScriptedSource empty(ByteView{}, 10);
    ReadAheadSource ahead(empty);
    CHECK(test::read_all(ahead, 100).empty());
    CHECK(ahead.size() == 123456789);
    CHECK(ahead.describe() == "layer 3");
  }

  TEST_CASE("an error of the source reaches the reader after every byte before it") {
    const Bytes data = test::pattern_bytes(250000);
    ScriptedSource in(data, 999, "layer 3: inflate failed");
    ReadAheadSource ahead(in, 4096, 2);
    const test::PartialRead got = test::read_until_error(ahead, 1000);
    CHECK(got.code == ErrorCode::Corrupt);
    CHECK(got.error == "layer 3: inflate failed");
    CHECK(got.bytes == data);
  }

  TEST_CASE("a reader that stops early ends the thread, which read at most its chunks ahead") {
    const Bytes data = test::pattern_bytes(10 * 1000 * 1000);
    ScriptedSource in(data, 1000);
    {
      ReadAheadSource ahead(in, 10000, 3);
      Bytes first(10);
      CHECK(ahead.read(first) == 10);
      CHECK(Bytes(data.begin(), data.begin() + 10) == first);
    } // joins here: a thread left running would fail under the sanitizers or hang
    // Three chunks in all: the reader's, and two filled ahead of it.
    CHECK(in.handed_out.load() <= 3 * 10000);
    CHECK(in.handed_out.load() >= 10000);
  }
}
