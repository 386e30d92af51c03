// GzipSource (ISA-L) against gzip streams made by zlib, an independent implementation: whatever
// zlib deflates, with whatever header fields, must inflate to the original bytes; anything
// damaged must fail as Corrupt and never yield wrong bytes silently.
#include "core/error.hpp"
#include "core/gzip_source.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

using namespace oci2eif;

namespace {

// Compressible but not trivial: text-like runs with a pseudo-random walk.
Bytes sample(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t x = seed;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    out[i] = static_cast<std::uint8_t>((x >> 28) < 12 ? 'a' + (x >> 24) % 8 : x >> 16);
  }
  return out;
}

struct HeaderFields {
  std::string name;
  std::string comment;
  std::string extra;
  bool header_crc = false;
};

// One gzip member written by zlib, with optional header fields (as gzip(1) writes a name).
Bytes zlib_gzip(ByteView data, const HeaderFields& fields = {}, int level = 6) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string name = fields.name, comment = fields.comment, extra = fields.extra;
  gz_header header{};
  header.os = 3;
  header.name = name.empty() ? Z_NULL : reinterpret_cast<Bytef*>(name.data());
  header.comment = comment.empty() ? Z_NULL : reinterpret_cast<Bytef*>(comment.data());
  header.extra = extra.empty() ? Z_NULL : reinterpret_cast<Bytef*>(extra.data());
  header.extra_len = static_cast<uInt>(extra.size());
  header.hcrc = fields.header_crc ? 1 : 0;
  REQUIRE(deflateSetHeader(&z, &header) == Z_OK);
  Bytes out(deflateBound(&z, static_cast<uLong>(data.size())) + 1024);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Yields at most `step` bytes per read, so headers and trailers straddle reads.
class TrickleSource final : public ByteSource {
public:
  TrickleSource(ByteView data, std::size_t step) : data_(data), step_(step) {}
  std::uint64_t size() const override { return data_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override {
    const std::size_t n = std::min({out.size(), step_, data_.size() - pos_});
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
    pos_ += n;
    return n;
  }
  std::string describe() const override { return "trickle"; }

private:
  ByteView data_;
  std::size_t step_;
  std::size_t pos_ = 0;
};

// Everything the source yields, reading into buffers of `chunk` bytes.
Bytes inflate_all(ByteSource& in, std::size_t chunk = 64 * 1024) {
  GzipSource gz(in, "layer 1");
  Bytes out, buffer(chunk);
  while (const std::size_t n = gz.read(buffer)) {
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

Bytes inflate_all(const Bytes& gz, std::size_t chunk = 64 * 1024) {
  MemorySource in(gz, "blob");
  return inflate_all(in, chunk);
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

} // namespace

TEST_SUITE("core::GzipSource") {
  TEST_CASE("inflates what zlib deflates, whatever the read sizes") {
    const Bytes data = sample(3 * 1024 * 1024 + 17, 1);
    for (const int level : {1, 6, 9}) {
      const Bytes gz = zlib_gzip(data, {}, level);
      CHECK(gz.size() < data.size()); // compressed: deflate blocks, not only stored ones
      CHECK(inflate_all(gz) == data);
      CHECK(inflate_all(gz, 1000) == data);
    }
    const Bytes gz = zlib_gzip(data);
    TrickleSource trickle(gz, 3);
    CHECK(inflate_all(trickle, 7) == data);
    const Bytes incompressible = sample(1024 * 1024, 2); // mostly stored blocks at level 1
    CHECK(inflate_all(zlib_gzip(incompressible, {}, 1), 1 << 20) == incompressible);
  }

  TEST_CASE("skips the optional header fields gzip(1) and others write") {
    const Bytes data = sample(200000, 3);
    const Bytes gz = zlib_gzip(data, {"layer.tar", "made by a test",
                                      std::string("XY\x04\0"
                                                  "abcd",
                                                  8),
                                      true});
    CHECK(inflate_all(gz) == data);
    TrickleSource trickle(gz, 1);
    CHECK(inflate_all(trickle) == data);
  }

  TEST_CASE("reads concatenated members as one stream") {
    const Bytes a = sample(100000, 4), b = sample(70000, 5);
    CHECK(inflate_all(concat(zlib_gzip(a), zlib_gzip(b))) == concat(a, b));
    const Bytes three =
        concat(zlib_gzip(a), concat(zlib_gzip({}), zlib_gzip(b, {"b", "", "", true})));
    TrickleSource trickle(three, 5);
    CHECK(inflate_all(trickle) == concat(a, b));
  }

  TEST_CASE("ignores bytes after the last member that do not start another") {
    const Bytes data = sample(50000, 6);
    CHECK(inflate_all(concat(zlib_gzip(data), Bytes(512, 0))) == data); // tar-style padding
    CHECK(inflate_all(concat(zlib_gzip(data), Bytes{'x'})) == data);
  }

  TEST_CASE("an empty blob inflates to nothing, other bytes are not gzip") {
    CHECK(inflate_all(Bytes{}).empty());
    const Bytes tar(1024, 0);
    const std::string err = test::error_of([&] { inflate_all(tar); });
    CHECK(err == "layer 1: expected gzip data, but the blob is not in that format");
    CHECK(test::code_of([] { inflate_all(Bytes{0x1f}); }) == ErrorCode::Corrupt);
    const Bytes name_without_end{0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3, 'a', 'b'};
    CHECK(test::error_of([&] { inflate_all(name_without_end); }) ==
          "layer 1: gzip data ends early (truncated)");
    Bytes huge_name{0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3};
    huge_name.resize(300 * 1024, 'n');
    CHECK(test::error_of([&] { inflate_all(huge_name); }) ==
          "layer 1: gzip header longer than 262144 bytes");
  }

  TEST_CASE("refuses damaged streams as Corrupt, naming the stream") {
    const Bytes data = sample(300000, 7);
    const Bytes gz = zlib_gzip(data);
    SUBCASE("cut anywhere") {
      for (const std::size_t cut : {std::size_t{5}, std::size_t{10}, gz.size() / 3, gz.size() - 8,
                                    gz.size() - 4, gz.size() - 1}) {
        CAPTURE(cut);
        const Bytes part(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(cut));
        const std::string err = test::error_of([&] { inflate_all(part); });
        CHECK(err.rfind("layer 1: ", 0) == 0);
        CHECK(test::code_of([&] { inflate_all(part); }) == ErrorCode::Corrupt);
      }
      const Bytes part(gz.begin(), gz.end() - 8);
      CHECK(test::error_of([&] { inflate_all(part); }) ==
            "layer 1: gzip data ends early (truncated)");
    }
    SUBCASE("wrong CRC-32 or length in the trailer") {
      for (const std::size_t from_end : {std::size_t{8}, std::size_t{1}}) {
        Bytes bad = gz;
        bad[bad.size() - from_end] ^= 0x01;
        CHECK(test::error_of([&] { inflate_all(bad); }) ==
              "layer 1: the CRC-32 or length in a gzip trailer does not match the inflated data");
      }
    }
    SUBCASE("garbage in the deflate data") {
      Bytes bad = gz;
      for (std::size_t i = 40; i < 200; ++i) {
        bad[i] = static_cast<std::uint8_t>(0xff - i);
      }
      CHECK(test::code_of([&] { inflate_all(bad); }) == ErrorCode::Corrupt);
    }
    SUBCASE("a method other than deflate") {
      Bytes bad = gz;
      bad[2] = 7;
      CHECK(test::code_of([&] { inflate_all(bad); }) == ErrorCode::Corrupt);
    }
  }
}
