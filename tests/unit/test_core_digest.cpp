// OCI digests and the check of a stream against one: the bytes pass through unchanged, and
// the verdict comes at the end, every time the end is read.
#include "core/digest.hpp"
#include "core/error.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

namespace {

// FIPS 180-2, appendix B.1: SHA-256("abc").
const std::string kAbc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

} // namespace

TEST_SUITE("core::digest") {
  TEST_CASE("a digest is sha256: and 64 lower-case hex digits - anything else is refused") {
    CHECK(sha256_digest(as_bytes(std::string_view("abc"))) == kAbc);
    CHECK_NOTHROW(validate_digest(kAbc, "layer 1"));
    for (const std::string& bad :
         {std::string("sha256:") + std::string(63, 'a'), "sha256:" + std::string(64, 'A'),
          "sha384:" + kAbc.substr(7), kAbc.substr(7), std::string("")}) {
      CAPTURE(bad);
      CHECK(test::code_of([&] { validate_digest(bad, "layer 1"); }) == ErrorCode::InvalidInput);
    }
  }

  TEST_CASE("the bytes pass through unchanged and are checked at the end") {
    const std::string abc = "abc";
    MemorySource in(as_bytes(abc), "abc");
    VerifyingSource check(in, kAbc, 3, "blob abc");
    CHECK(test::read_all(check, 1) == Bytes{'a', 'b', 'c'});
    CHECK(check.bytes_read() == 3);
  }

  TEST_CASE("a wrong digest, a short or a long stream is a mismatch naming the subject - every "
            "read after the end says so again") {
    const std::string abd = "abd";
    struct Case {
      std::string digest;
      std::uint64_t size;
      std::string says;
    };
    for (const Case& c :
         {Case{kAbc, 3, "content has digest sha256:"}, Case{kAbc, 4, "expected 4 bytes, got 3"},
          Case{kAbc, kUnknownSize, "content has digest"}}) {
      CAPTURE(c.size);
      MemorySource in(as_bytes(abd), "abd");
      VerifyingSource check(in, c.digest, c.size, "blob abd");
      std::uint8_t byte = 0;
      for (int i = 0; i < 3; ++i) {
        CHECK(check.read(std::span(&byte, 1)) == 1);
      }
      for (int again = 0; again < 3; ++again) { // not a quiet 0 the second time
        const std::string error = test::error_of([&] { check.read(std::span(&byte, 1)); });
        CHECK(error.rfind("blob abd: ", 0) == 0);
        CHECK(error.find(c.says) != std::string::npos);
        CHECK(test::code_of([&] { check.read(std::span(&byte, 1)); }) == ErrorCode::DigestMismatch);
      }
    }
    const std::string abc = "abc";
    MemorySource longer(as_bytes(abc), "abc");
    VerifyingSource two(longer, kAbc, 2, "blob ab");
    std::uint8_t three[3] = {};
    CHECK(test::error_of([&] { two.read(three); }) == "blob ab: more than the expected 2 bytes");
  }

  TEST_CASE("a clean end reads as 0 as often as it is read") {
    const std::string abc = "abc";
    MemorySource in(as_bytes(abc), "abc");
    VerifyingSource check(in, kAbc, 3, "blob abc");
    drain(check);
    std::uint8_t byte = 0;
    CHECK(check.read(std::span(&byte, 1)) == 0);
    CHECK(check.read(std::span(&byte, 1)) == 0);
  }

  TEST_CASE("a digesting source passes bytes through and hashes the whole stream, read or not") {
    const std::string abc = "abc";
    MemorySource in(as_bytes(abc), "abc");
    DigestingSource digesting(in);
    std::uint8_t first = 0;
    CHECK(digesting.read(std::span(&first, 1)) == 1);
    CHECK(first == 'a');
    CHECK(digesting.describe() == "abc");
    CHECK(digesting.digest_of_all() == kAbc); // "bc" was never read by the caller
  }
}
