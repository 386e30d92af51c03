// SizeLimitedSink: bytes pass up to the limit; the write that would cross it is refused whole.
#include "core/error.hpp"
#include "core/size_limited_sink.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using oci2eif::test::code_of;

TEST_SUITE("core::SizeLimitedSink") {
  TEST_CASE("writes up to exactly the limit pass through") {
    VectorSink inner;
    SizeLimitedSink out(inner, 10, "too big");
    out.write(Bytes(4, 1));
    out.write(Bytes(6, 2));
    CHECK(out.written() == 10);
    CHECK(inner.bytes().size() == 10);
    out.write(Bytes()); // an empty write at the limit is no growth
    CHECK(inner.bytes().size() == 10);
  }

  TEST_CASE("the write that would cross the limit throws LimitExceeded and reaches nothing") {
    VectorSink inner;
    SizeLimitedSink out(inner, 10, "the EIF would be larger than its limit");
    out.write(Bytes(7, 1));
    CHECK(code_of([&] { out.write(Bytes(4, 2)); }) == ErrorCode::LimitExceeded);
    CHECK_THROWS_WITH_AS(out.write(Bytes(4, 2)), "the EIF would be larger than its limit", Error);
    CHECK(inner.bytes().size() == 7);
    CHECK(out.written() == 7);
    out.write(Bytes(3, 3)); // what still fits is still accepted
    CHECK(inner.bytes().size() == 10);
  }

  TEST_CASE("a zero limit refuses the first byte") {
    VectorSink inner;
    SizeLimitedSink out(inner, 0, "nothing allowed");
    CHECK(code_of([&] { out.write(Bytes(1, 0)); }) == ErrorCode::LimitExceeded);
    CHECK(inner.bytes().empty());
  }
}
