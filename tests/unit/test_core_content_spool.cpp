#include "core/bytes.hpp"
#include "core/content_spool.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

namespace {

ContentRef store_text(ContentSpool& spool, const std::string& text) {
  MemorySource in(as_bytes(text), "layer 1: etc/motd");
  return spool.store(in, text.size());
}

std::string read_back(const ContentSpool& spool, const ContentRef& ref) {
  const auto in = spool.open(ref);
  const Bytes b = test::read_all(*in, 7);
  return std::string(b.begin(), b.end());
}

} // namespace

TEST_SUITE("core::content_spool") {
  TEST_CASE("a file spool gives back each content, with its sha256 unless told to keep none") {
    const test::TempDir dir;
    // FIPS 180-2's example: SHA-256("abc").
    const std::string abc_sha256 =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    FileSpool hashing(dir.path() / "hashing.spool");
    const ContentRef first = store_text(hashing, "hello, ");
    const ContentRef abc = store_text(hashing, "abc");
    CHECK(abc.offset == 7);
    CHECK(abc.size == 3);
    CHECK(to_hex(abc.sha256) == abc_sha256);
    CHECK(read_back(hashing, first) == "hello, ");
    CHECK(read_back(hashing, abc) == "abc");

    FileSpool plain(dir.path() / "plain.spool", ContentDigests::None);
    store_text(plain, "hello, ");
    const ContentRef unhashed = store_text(plain, "abc");
    CHECK(unhashed.offset == 7);
    CHECK(unhashed.sha256 == std::array<std::uint8_t, 32>{});
    CHECK(read_back(plain, unhashed) == "abc");
  }

  TEST_CASE("a content shorter than announced is refused with the entry's name") {
    const test::TempDir dir;
    FileSpool spool(dir.path() / "content.spool", ContentDigests::None);
    const std::string abc = "abc";
    MemorySource in(as_bytes(abc), "layer 2: usr/bin/tool");
    CHECK(test::error_of([&] { spool.store(in, 5); }) ==
          "layer 2: usr/bin/tool: truncated: 2 of 5 bytes missing");
  }
}
