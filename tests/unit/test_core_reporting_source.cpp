// ReportingSource: when it tells how far a stream has come.
#include "core/reporting_source.hpp"

#include <doctest/doctest.h>
#include <vector>

using namespace oci2eif;

TEST_SUITE("core::ReportingSource") {
  TEST_CASE("reports every N bytes and once at the end with the total") {
    const Bytes data(35, 7);
    MemorySource inner(data, "data");
    std::vector<std::uint64_t> seen;
    ReportingSource in(
        inner, [&](std::uint64_t n) { seen.push_back(n); }, 10);
    Bytes buffer(4);
    while (in.read(buffer) > 0) {
    }
    in.read(buffer); // a second read at the end reports nothing more
    // Reads of 4: 12 passes 10, 24 passes 22, 36 would pass 34 but the stream ends at 35.
    CHECK(seen == std::vector<std::uint64_t>{12, 24, 35});
    CHECK(in.bytes_read() == 35);
    CHECK(in.size() == 35);
    CHECK(in.describe() == "data");
  }

  TEST_CASE("an empty stream reports 0 once") {
    MemorySource inner({}, "empty");
    std::vector<std::uint64_t> seen;
    ReportingSource in(
        inner, [&](std::uint64_t n) { seen.push_back(n); }, 10);
    Bytes buffer(4);
    CHECK(in.read(buffer) == 0);
    CHECK(seen == std::vector<std::uint64_t>{0});
  }
}
