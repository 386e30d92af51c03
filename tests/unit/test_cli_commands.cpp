#include "cli/commands.hpp"
#include "core/error.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <sstream>

using namespace oci2eif;
using test::vector_input;

namespace {

cli::AssembleOptions vector_a_options(const std::filesystem::path& output) {
  cli::AssembleOptions o;
  o.kernel = vector_input("kernel.bin");
  const Bytes cmdline = test::read_file(vector_input("cmdline.txt"));
  o.cmdline.assign(cmdline.begin(), cmdline.end());
  o.ramdisks = {vector_input("ramdisk-bootstrap.cpio"), vector_input("ramdisk-customer.cpio")};
  o.output = output;
  o.build_time = "2024-01-01T00:00:00+00:00";
  o.build_tool = "eif_build";
  o.build_tool_version = "0.3.1";
  o.img_os = "Linux";
  o.img_kernel = "6.6.79";
  return o;
}

const nlohmann::json& vector(const char* name) {
  return test::vectors_json()["vectors"][name];
}

} // namespace

TEST_SUITE("cli::commands") {
  TEST_CASE("assemble with eif_build's flags reproduces vector A and prints its measurements") {
    test::TempDir dir;
    std::ostringstream out, log;
    cli::run_assemble(vector_a_options(dir / "a.eif"), out, log);
    CHECK(test::sha256_hex(test::read_file(dir / "a.eif")) == vector("a")["sha256"]);
    const auto printed = nlohmann::json::parse(out.str());
    CHECK(printed["Measurements"]["PCR0"] == vector("a")["measurements"]["PCR0"]);
    CHECK(printed["Measurements"]["HashAlgorithm"] == "Sha384 { ... }");
    CHECK(log.str().find("a.eif (274894 bytes, 5 sections)") != std::string::npos);
  }

  TEST_CASE("assemble with --arch aarch64 and --metadata reproduces vector B") {
    test::TempDir dir;
    auto o = vector_a_options(dir / "b.eif");
    o.arch = "aarch64";
    o.metadata = vector_input("custom-metadata.json");
    std::ostringstream out, log;
    cli::run_assemble(o, out, log);
    CHECK(test::sha256_hex(test::read_file(dir / "b.eif")) == vector("b")["sha256"]);
  }

  TEST_CASE("--version really sets ImageVersion, unlike eif_build") {
    test::TempDir dir;
    auto o = vector_a_options(dir / "v.eif");
    o.name = "my-app";
    o.version = "2.5";
    std::ostringstream out, log;
    cli::run_assemble(o, out, log);
    std::ostringstream described;
    cli::run_describe({dir / "v.eif", true, std::nullopt, std::nullopt}, described);
    const auto d = nlohmann::json::parse(described.str());
    CHECK(d["ImageName"] == "my-app");
    CHECK(d["ImageVersion"] == "2.5");
  }

  TEST_CASE("a mismatched key/certificate pair fails and writes no file") {
    test::TempDir dir;
    const test::PemIdentity a = test::make_ec_identity("secp384r1");
    const test::PemIdentity b = test::make_ec_identity("secp384r1");
    test::write_file(dir / "cert.pem", as_bytes(a.certificate));
    test::write_file(dir / "key.pem", as_bytes(b.private_key));
    auto o = vector_a_options(dir / "signed.eif");
    o.signing_certificate = dir / "cert.pem";
    o.private_key = dir / "key.pem";
    std::ostringstream out, log;
    CHECK_THROWS_AS(cli::run_assemble(o, out, log), Error);
    CHECK_FALSE(std::filesystem::exists(dir / "signed.eif"));
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 2);
    o.private_key.reset();
    CHECK_THROWS_WITH_AS(cli::run_assemble(o, out, log),
                         "--signing-certificate and --private-key must be given together", Error);
  }

  TEST_CASE("a missing ramdisk fails before the output file is created") {
    test::TempDir dir;
    auto o = vector_a_options(dir / "x.eif");
    o.ramdisks.push_back(dir / "missing.cpio");
    std::ostringstream out, log;
    CHECK_THROWS_AS(cli::run_assemble(o, out, log), Error);
    CHECK(std::filesystem::is_empty(dir.path()));
  }

  TEST_CASE("describe --json of vector C has nitro-cli's fields in nitro-cli's order") {
    std::ostringstream out;
    cli::run_describe({test::vector_file('c'), true, std::nullopt, 1795000000}, out);
    const auto d = nlohmann::ordered_json::parse(out.str());
    std::vector<std::string> keys;
    for (const auto& [k, v] : d.items()) {
      keys.push_back(k);
    }
    CHECK(keys == std::vector<std::string>{"EifVersion", "Measurements", "IsSigned",
                                           "SigningCertificate", "CheckCRC", "SignatureCheck",
                                           "ImageName", "ImageVersion", "Metadata", "Sections"});
    CHECK(d["SigningCertificate"]["IssuerName"]["commonName"] == "eif-test-vector-signer");
    CHECK(d["SigningCertificate"]["Algorithm"] == "ecdsa-with-SHA384");
    CHECK(d["SigningCertificate"]["NotBefore"] == "Jan  1 00:00:00 2020 GMT");
    CHECK(d["Measurements"]["PCR8"] == vector("c")["measurements"]["PCR8"]);
    CHECK(d["Metadata"]["KernelVersion"] == "6.6.79");
    CHECK(d["Sections"].size() == 6);
  }

  TEST_CASE("describe flattens custom metadata into Metadata, as nitro-cli does") {
    std::ostringstream out;
    cli::run_describe({test::vector_file('b'), true, std::nullopt, std::nullopt}, out);
    const auto d = nlohmann::json::parse(out.str());
    CHECK(d["Metadata"]["purpose"] == "test");
    CHECK(d["Metadata"]["n"] == 1);
    CHECK_FALSE(d["Metadata"].contains("DockerInfo"));
  }

  TEST_CASE("describe --extract recovers the inputs byte for byte") {
    test::TempDir dir;
    std::ostringstream out;
    cli::run_describe({test::vector_file('e'), false, dir / "x", std::nullopt}, out);
    CHECK(test::read_file(dir / "x" / "kernel") == test::read_file(vector_input("kernel.bin")));
    CHECK(test::read_file(dir / "x" / "cmdline") == test::read_file(vector_input("cmdline.txt")));
    CHECK(test::read_file(dir / "x" / "ramdisk-0") ==
          test::read_file(vector_input("ramdisk-bootstrap.cpio")));
    CHECK(test::read_file(dir / "x" / "ramdisk-1") ==
          test::read_file(vector_input("ramdisk-customer.cpio")));
    CHECK(test::read_file(dir / "x" / "ramdisk-2") ==
          test::read_file(vector_input("ramdisk-extra.bin")));
    CHECK(out.str().find("PCR0:            9705a3d6ddbd") != std::string::npos);
  }

  TEST_CASE("describe --extract of a corrupt file writes nothing") {
    test::TempDir dir;
    Bytes e = test::read_file(test::vector_file('a'));
    e[300000 % e.size()] ^= 1;
    test::write_file(dir / "bad.eif", e);
    std::ostringstream out;
    CHECK_THROWS_AS(cli::run_describe({dir / "bad.eif", false, dir / "x", std::nullopt}, out),
                    Error);
    CHECK(std::filesystem::is_empty(dir / "x"));
  }

  TEST_CASE("pcr prints PCR for a file and PCR8 for a certificate, as nitro-cli pcr") {
    std::ostringstream cert_out;
    cli::run_pcr({std::nullopt, vector_input("signing-cert-p384.pem")}, cert_out);
    CHECK(nlohmann::json::parse(cert_out.str())["PCR8"] == vector("c")["measurements"]["PCR8"]);
    // Vector D's single ramdisk makes PCR2 the PCR of empty input; use an empty file.
    test::TempDir dir;
    test::write_file(dir / "empty", {});
    std::ostringstream file_out;
    cli::run_pcr({dir / "empty", std::nullopt}, file_out);
    CHECK(nlohmann::json::parse(file_out.str())["PCR"] == vector("d")["measurements"]["PCR2"]);
    CHECK_THROWS_AS(cli::run_pcr({std::nullopt, std::nullopt}, file_out), Error);
  }

  TEST_CASE("the build time never comes from the wall clock") {
    CHECK(cli::resolve_build_time(std::nullopt, std::nullopt) == "1970-01-01T00:00:00+00:00");
    CHECK(cli::resolve_build_time(std::nullopt, std::string("1704067200")) ==
          "2024-01-01T00:00:00+00:00");
    CHECK(cli::resolve_build_time(std::string("x"), std::string("1704067200")) == "x");
    CHECK_THROWS_WITH_AS(cli::resolve_build_time(std::nullopt, std::string("12abc")),
                         "SOURCE_DATE_EPOCH='12abc' is not a non-negative number of seconds",
                         Error);
  }
}
