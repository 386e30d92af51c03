#include "core/error.hpp"
#include "core/provenance.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;

namespace {

ProvenanceInputs sample_inputs() {
  ProvenanceInputs in;
  in.eif_name = "app.eif";
  in.eif_sha256 = std::string(64, 'e');
  in.measurements.pcr0 = Bytes(48, 0x00);
  in.measurements.pcr1 = Bytes(48, 0x11);
  in.measurements.pcr2 = Bytes(48, 0x22);
  in.external_parameters = {{"image", "registry.example/app:1"}};
  in.dependencies = {{"image manifest", "registry.example/app:1", std::string(64, 'a')},
                     {"kernel", "", std::string(64, 'b')}};
  in.builder_id = "urn:oci2eif:builder:cli";
  in.builder_version = "9.9.9";
  return in;
}

std::vector<ProvenanceSubject> subjects_of(const nlohmann::ordered_json& statement) {
  return statement_subjects(as_bytes(statement.dump()), "p");
}

} // namespace

TEST_SUITE("core::provenance") {
  TEST_CASE("the statement is in-toto v1 with a SLSA v1 predicate about the EIF") {
    const auto s = provenance_statement(sample_inputs());
    // Field names and type URIs as in-toto's statement.md and slsa.dev/spec/v1.0/provenance.
    CHECK(s["_type"] == "https://in-toto.io/Statement/v1");
    CHECK(s["predicateType"] == "https://slsa.dev/provenance/v1");
    REQUIRE(s["subject"].size() == 1);
    CHECK(s["subject"][0]["name"] == "app.eif");
    CHECK(s["subject"][0]["digest"]["sha256"] == std::string(64, 'e'));
    CHECK(s["subject"][0]["annotations"]["PCR1"] == std::string(96, '1'));
    CHECK_FALSE(s["subject"][0]["annotations"].contains("PCR8"));
    const auto& definition = s["predicate"]["buildDefinition"];
    CHECK(definition["buildType"] == "urn:oci2eif:buildtype:eif:v1");
    CHECK(definition["externalParameters"]["image"] == "registry.example/app:1");
    REQUIRE(definition["resolvedDependencies"].size() == 2);
    CHECK(definition["resolvedDependencies"][0]["uri"] == "registry.example/app:1");
    CHECK(definition["resolvedDependencies"][1]["digest"]["sha256"] == std::string(64, 'b'));
    CHECK_FALSE(definition["resolvedDependencies"][1].contains("uri"));
    CHECK(s["predicate"]["runDetails"]["builder"]["id"] == "urn:oci2eif:builder:cli");
    CHECK_FALSE(s["predicate"]["runDetails"].contains("metadata"));
  }

  TEST_CASE("a signed EIF's PCR8 and a service build's id are recorded") {
    ProvenanceInputs in = sample_inputs();
    in.measurements.pcr8 = Bytes(48, 0x88);
    in.invocation_id = "b-42";
    const auto s = provenance_statement(in);
    CHECK(s["subject"][0]["annotations"]["PCR8"] == std::string(96, '8'));
    CHECK(s["predicate"]["runDetails"]["metadata"]["invocationId"] == "b-42");
  }

  TEST_CASE("the same inputs give the same bytes (no clock, no map order)") {
    CHECK(provenance_statement(sample_inputs()).dump() ==
          provenance_statement(sample_inputs()).dump());
  }

  TEST_CASE("statement_subjects reads back the subject written") {
    const auto subjects = subjects_of(provenance_statement(sample_inputs()));
    REQUIRE(subjects.size() == 1);
    CHECK(subjects[0].name == "app.eif");
    CHECK(subjects[0].sha256 == std::string(64, 'e'));
    CHECK(subjects[0].pcrs.size() == 3);
    CHECK(subjects[0].pcrs.at("PCR2") == std::string(96, '2'));
  }

  TEST_CASE("anything but a provenance statement with a subject is Corrupt, naming the source") {
    auto statement = provenance_statement(sample_inputs());
    auto broken = [&](const char* key, const nlohmann::ordered_json& value) {
      auto copy = statement;
      copy[key] = value;
      return copy.dump();
    };
    for (const std::string& text :
         {std::string("nope"), std::string("[]"),
          broken("_type", "https://in-toto.io/Statement/v0.1"), broken("_type", 1),
          broken("predicateType", "https://slsa.dev/provenance/v0.2"),
          broken("subject", nlohmann::ordered_json::array()), broken("subject", "app.eif"),
          broken("subject", nlohmann::ordered_json::array({1}))}) {
      CAPTURE(text);
      CHECK(test::code_of([&] { statement_subjects(as_bytes(text), "p.json"); }) ==
            ErrorCode::Corrupt);
      CHECK(test::error_of([&] {
              statement_subjects(as_bytes(text), "p.json");
            }).starts_with("p.json"));
    }
    // Errors say which field is wrong.
    statement["subject"][0]["digest"]["sha256"] = 5;
    CHECK(test::error_of([&] { subjects_of(statement); }) ==
          "p: subject[0].digest.sha256: expected a string, found number");
  }
}
