#include "core/eif_reader.hpp"
#include "core/eif_signature.hpp"
#include "core/eif_writer.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <random>

using namespace oci2eif;

namespace {

constexpr std::int64_t kNov2026 = 1795000000;

EifInfo read_bytes(const Bytes& eif, const std::string& name,
                   std::optional<std::int64_t> now = kNov2026) {
  MemorySource in(eif, name);
  EifReadOptions options;
  options.now_unix = now;
  return read_eif(in, name, options);
}

// The message of the Error that reading `eif` throws ("" if it reads fine).
std::string read_error(const Bytes& eif, std::optional<std::int64_t> now = kNov2026) {
  try {
    read_bytes(eif, "x.eif", now);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Replaces the last section (the signature) of a signed EIF, fixing sizes and the CRC.
Bytes with_signature_section(Bytes eif, const Bytes& section) {
  const std::size_t last = eif[27] - 1u; // num_sections (low byte; vectors have < 256)
  const std::size_t offset = test::get_be64(eif, 28 + 8 * last);
  eif.resize(offset + 12);
  test::put_be64(eif, offset + 4, section.size());
  test::put_be64(eif, 284 + 8 * last, section.size());
  eif.insert(eif.end(), section.begin(), section.end());
  test::fix_crc(eif);
  return eif;
}

const nlohmann::json& vector(const char* name) {
  return test::vectors_json()["vectors"][name];
}

} // namespace

TEST_SUITE("core::EifReader") {
  TEST_CASE("every reference vector reads with AWS's PCRs, CRC and section table") {
    for (const char* name : {"a", "b", "c", "d", "e"}) {
      CAPTURE(name);
      const auto& v = vector(name);
      const EifInfo info = read_bytes(test::read_file(test::vector_file(name[0])), name);
      CHECK(to_hex(info.measurements.pcr0) == v["measurements"]["PCR0"]);
      CHECK(to_hex(info.measurements.pcr1) == v["measurements"]["PCR1"]);
      CHECK(to_hex(info.measurements.pcr2) == v["measurements"]["PCR2"]);
      CHECK(info.measurements.pcr8.has_value() == v["measurements"].contains("PCR8"));
      if (info.measurements.pcr8) {
        CHECK(to_hex(*info.measurements.pcr8) == v["measurements"]["PCR8"]);
      }
      CHECK(info.signature.has_value() == v["oracle_describe"]["IsSigned"].get<bool>());
      CHECK(info.size == v["size"]);
      CHECK(info.header.flags == v["header"]["flags"]);
      REQUIRE(info.sections.size() == v["sections"].size());
      for (std::size_t i = 0; i < info.sections.size(); ++i) {
        CHECK(info.sections[i].offset == v["sections"][i]["offset"]);
        CHECK(info.sections[i].size == v["sections"][i]["size"]);
      }
      CHECK(info.cmdline.size() == 119);
    }
  }

  TEST_CASE("vector B reads as aarch64 with its custom metadata") {
    const EifInfo info = read_bytes(test::read_file(test::vector_file('b')), "b");
    CHECK(info.arch == Arch::Aarch64);
    CHECK(info.metadata.custom_metadata["vector"] == "B");
  }

  TEST_CASE("malformed files are rejected, each with its own precise message") {
    const Bytes a = test::read_file(test::vector_file('a'));

    SUBCASE("a flipped bit in a payload") {
      Bytes e = a;
      e[270000] ^= 0x10;
      const std::string msg = read_error(e);
      CHECK(msg.rfind("x.eif: CRC mismatch: the header records 0x06b43106 but the contents give 0x",
                      0) == 0);
      CHECK(msg.find("; the file is corrupted") != std::string::npos);
    }
    SUBCASE("truncation inside a section and inside the header") {
      CHECK(read_error(Bytes(a.begin(), a.end() - 100)) ==
            "x.eif: truncated: section 4 (ramdisk) declares 2048 bytes but only 1948 remain");
      CHECK(read_error(Bytes(a.begin(), a.begin() + 300)) ==
            "x.eif: truncated: the file is 300 bytes, shorter than the 548-byte EIF header");
      CHECK(
          read_error(Bytes(a.begin(), a.begin() + 262704 + 5)) ==
          "x.eif: truncated: section 1 should start at offset 262704 but the file ends at 262709");
    }
    SUBCASE("trailing bytes") {
      Bytes e = a;
      e.insert(e.end(), 5, 0);
      CHECK(read_error(e) == "x.eif: 5 trailing bytes after the last section (offset 274894)");
    }
    SUBCASE("wrong magic") {
      Bytes e = a;
      e[1] = 'E';
      CHECK(read_error(e) ==
            "x.eif: not an EIF: the magic is 2e456966, expected 2e656966 (\".eif\")");
    }
    SUBCASE("wrong version") {
      Bytes e = a;
      test::put_be16(e, 4, 7);
      CHECK(read_error(e) == "x.eif: unsupported EIF version 7; this reader handles version 4");
      try {
        read_bytes(e, "x.eif");
      } catch (const Error& err) {
        CHECK(err.code() == ErrorCode::Unsupported);
      }
    }
    SUBCASE("a corrupted offset table, even with the CRC fixed up") {
      Bytes e = a;
      test::put_be64(e, 28 + 8, 262705);
      test::fix_crc(e);
      CHECK(read_error(e) ==
            "x.eif: section table: section 1 is listed at offset 262705 but starts at 262704");
      Bytes s = a;
      test::put_be64(s, 284 + 8 * 3, 9729);
      test::fix_crc(s);
      CHECK(read_error(s) ==
            "x.eif: section table: section 3 (ramdisk) is listed with 9729 bytes but holds 9728");
      Bytes extra = a;
      test::put_be64(extra, 28 + 8 * 9, 1);
      test::fix_crc(extra);
      CHECK(read_error(extra) ==
            "x.eif: section table entry 9 is set, but the header declares only 5 sections");
    }
    SUBCASE("bad section types and order") {
      Bytes e = a;
      test::put_be16(e, 272834, 9);
      test::fix_crc(e);
      CHECK(read_error(e) == "x.eif: section 4 at offset 272834 has unknown section type 9");
      test::put_be16(e, 272834, 0);
      test::fix_crc(e);
      CHECK(read_error(e) == "x.eif: section 4 at offset 272834 has the invalid section type 0");
      Bytes o = a;
      test::put_be16(o, 262835, 3); // metadata relabelled as a ramdisk
      test::fix_crc(o);
      CHECK(read_error(o) == "x.eif: section 2 is a ramdisk section; expected metadata (order: "
                             "kernel, cmdline, metadata, ramdisks, signature)");
    }
    SUBCASE("header fields that must be zero, and section counts out of range") {
      Bytes e = a;
      e[6 + 1] = 0x02;
      test::fix_crc(e);
      CHECK(read_error(e) ==
            "x.eif: header flags 0x0002 has unknown bits set (only 0x0001, aarch64, is defined)");
      Bytes n = a;
      test::put_be16(n, 26, 40);
      test::fix_crc(n);
      CHECK(read_error(n) ==
            "x.eif: the header declares 40 sections; a valid EIF has between 4 and 32");
    }
  }

  TEST_CASE("signature problems are rejected even when the CRC is fixed up") {
    const Bytes c = test::read_file(test::vector_file('c'));
    const std::size_t sig_offset = vector("c")["sections"][5]["offset"];
    const Bytes section(c.begin() + static_cast<std::ptrdiff_t>(sig_offset) + 12, c.end());
    auto entries = decode_signature_section(section);

    SUBCASE("a tampered COSE signature") {
      entries[0].signature[entries[0].signature.size() - 5] ^= 0x01;
      CHECK(read_error(with_signature_section(c, encode_signature_section(entries))) ==
            "x.eif: the COSE signature does not verify with the signing certificate's public key");
    }
    SUBCASE("a valid signature over the wrong PCR0") {
      const EifSigner signer = EifSigner::load(test::vector_input("signing-cert-p384.pem"),
                                               test::vector_input("signing-key-p384.pem"));
      const Bytes wrong(48, 0x11);
      CHECK(read_error(with_signature_section(c, signer.signature_section(wrong))) ==
            "x.eif: the signature covers PCR0 " + to_hex(wrong) + " but the image's PCR0 is " +
                vector("c")["measurements"]["PCR0"].get<std::string>());
    }
    SUBCASE("a certificate or COSE structure that does not parse makes the image corrupt") {
      // Bad bytes inside the file are Corrupt (exit 1), never the caller's InvalidInput (exit 2).
      auto broken_cert = entries;
      broken_cert[0].signing_certificate.assign(40, 'A');
      auto broken_cose = entries;
      broken_cose[0].signature.resize(3);
      for (const auto& tampered : {broken_cert, broken_cose}) {
        try {
          read_bytes(with_signature_section(c, encode_signature_section(tampered)), "x.eif",
                     kNov2026);
          FAIL("a broken signature section was accepted");
        } catch (const Error& e) {
          CHECK(e.code() == ErrorCode::Corrupt);
          CHECK(std::string(e.what()).starts_with("x.eif: "));
        }
      }
    }
    SUBCASE("two signatures, or none") {
      entries.push_back(entries[0]);
      CHECK(read_error(with_signature_section(c, encode_signature_section(entries))) ==
            "x.eif: the signature section holds 2 signatures; expected exactly 1");
      CHECK(read_error(with_signature_section(c, encode_signature_section({}))) ==
            "x.eif: signature section holds no signature");
    }
  }

  TEST_CASE("measurements the caller made while writing are taken, and the file is still checked") {
    // Given PCRs no file has: were the payloads hashed, the vector's own would come back.
    Measurements given{Bytes(48, 0x11), Bytes(48, 0x22), Bytes(48, 0x33), Bytes(48, 0x44)};
    EifReadOptions options;
    options.measured = given;
    const Bytes a = test::read_file(test::vector_file('a'));
    MemorySource in_a(a, "a.eif");
    const EifInfo info = read_eif(in_a, "a.eif", options);
    CHECK(info.measurements.pcr0 == given.pcr0);
    CHECK(info.measurements.pcr1 == given.pcr1);
    CHECK(info.measurements.pcr2 == given.pcr2);
    CHECK_FALSE(info.measurements.pcr8.has_value()); // an unsigned file has none, whatever given
    CHECK(info.size == vector("a")["size"]);

    Bytes flipped = a; // one payload byte changed: the CRC still catches it
    flipped[flipped.size() - 100] ^= 0x01;
    MemorySource in_flipped(flipped, "a.eif");
    CHECK(test::error_of([&] {
            read_eif(in_flipped, "a.eif", options);
          }).find("a.eif: CRC mismatch") == 0);

    // A signed file: the signature is checked against the given PCR0, and PCR8 is its own.
    const Bytes c = test::read_file(test::vector_file('c'));
    MemorySource in_c(c, "c.eif");
    CHECK(test::error_of([&] { read_eif(in_c, "c.eif", options); }) ==
          "c.eif: the signature covers PCR0 " +
              vector("c")["measurements"]["PCR0"].get<std::string>() + " but the image's PCR0 is " +
              to_hex(given.pcr0));
    options.measured->pcr0 = read_bytes(c, "c").measurements.pcr0; // AWS's, as the test above
    REQUIRE(to_hex(options.measured->pcr0) == vector("c")["measurements"]["PCR0"]);
    MemorySource again(c, "c.eif");
    const EifInfo signed_info = read_eif(again, "c.eif", options);
    REQUIRE(signed_info.measurements.pcr8.has_value());
    CHECK(to_hex(*signed_info.measurements.pcr8) == vector("c")["measurements"]["PCR8"]);
  }

  TEST_CASE("the signing certificate must be valid at the time the caller gives") {
    // Valid 2001-01-01 .. 2002-01-01 (978307200 .. 1009843200).
    const test::PemIdentity id = test::make_ec_identity("secp384r1", 978307200, 1009843200);
    const EifSigner signer =
        EifSigner::from_pem(as_bytes(id.certificate), as_bytes(id.private_key));
    FileSource kernel(test::vector_input("kernel.bin"));
    FileSource ramdisk(test::vector_input("ramdisk-bootstrap.cpio"));
    EifContents contents;
    contents.kernel = &kernel;
    contents.ramdisks = {&ramdisk};
    contents.signer = &signer;
    VectorSink out;
    write_eif(contents, out);
    CHECK(read_error(out.bytes(), 990000000) == "");
    CHECK(read_error(out.bytes(), std::nullopt) == "");
    CHECK(read_error(out.bytes(), kNov2026) ==
          "x.eif: the signing certificate expired on Jan  1 00:00:00 2002 GMT");
    CHECK(read_error(out.bytes(), 900000000) ==
          "x.eif: the signing certificate is not valid before Jan  1 00:00:00 2001 GMT");
  }

  TEST_CASE("random corruption never crashes the reader and always names the problem") {
    const Bytes c = test::read_file(test::vector_file('c'));
    std::mt19937 rng(20261127);
    int rejected = 0;
    for (int i = 0; i < 1500; ++i) {
      Bytes e = c;
      const int mode = static_cast<int>(rng() % 4);
      if (mode == 0) {
        e.resize(rng() % e.size());
      } else if (mode == 1) {
        e[rng() % 548] = static_cast<std::uint8_t>(rng()); // header
      } else {
        for (int k = 0; k < 3; ++k) {
          e[rng() % e.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        }
        if (mode == 3) {
          test::fix_crc(e); // get past the CRC into the section and signature parsers
        }
      }
      try {
        read_bytes(e, "fuzz.eif");
      } catch (const Error& err) {
        ++rejected;
        CHECK(std::string(err.what()).rfind("fuzz.eif: ", 0) == 0);
      }
    }
    CHECK(rejected > 1400);
  }
}
