#include "core/bytes.hpp"
#include "core/error.hpp"
#include "registry/eif_artifact.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace oci2eif;
using namespace oci2eif::registry;

namespace {

const std::string kEif = "sha256:" + std::string(64, 'e');
const std::string kImage = "sha256:" + std::string(64, 'a');

Measurements measurements(bool signed_image) {
  Measurements m;
  m.pcr0 = Bytes(48, 0xA0);
  m.pcr1 = Bytes(48, 0x01);
  m.pcr2 = Bytes(48, 0x02);
  if (signed_image) {
    m.pcr8 = Bytes(48, 0x08);
  }
  return m;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

Artifact artifact(bool with_subject) {
  Artifact a;
  a.layer = {eif_artifact::kLayerType, kEif, 1234, {}, {{eif_artifact::kTitle, "app.eif"}}};
  a.annotations = eif_annotations(measurements(false), "x86_64", "1.2.3");
  if (with_subject) {
    a.subject = Descriptor{media_type::kOciManifest, kImage, 567, {}, {}};
  }
  return a;
}

} // namespace

TEST_SUITE("registry::eif_artifact") {
  TEST_CASE("the manifest is an OCI 1.1 artifact: empty config, one EIF layer, subject") {
    const nlohmann::json m = nlohmann::json::parse(artifact_manifest_json(artifact(true)));
    CHECK(m["schemaVersion"] == 2);
    CHECK(m["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
    CHECK(m["artifactType"] == "application/vnd.oci2eif.eif.v1");
    CHECK(m["config"] == nlohmann::json{{"mediaType", "application/vnd.oci.empty.v1+json"},
                                        {"digest", "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc"
                                                   "21fe77e8310c060f61caaff8a"},
                                        {"size", 2}});
    REQUIRE(m["layers"].size() == 1);
    CHECK(m["layers"][0]["mediaType"] == "application/vnd.oci2eif.eif.layer.v1");
    CHECK(m["layers"][0]["digest"] == kEif);
    CHECK(m["layers"][0]["size"] == 1234);
    CHECK(m["layers"][0]["annotations"]["org.opencontainers.image.title"] == "app.eif");
    CHECK(m["subject"] ==
          nlohmann::json{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"digest", kImage},
                         {"size", 567}});
    CHECK(m["annotations"]["com.oci2eif.pcr0"] == repeat("a0", 48));
  }

  TEST_CASE("the same inputs give the same bytes, and no subject means no subject field") {
    CHECK(artifact_manifest_json(artifact(false)) == artifact_manifest_json(artifact(false)));
    CHECK_FALSE(nlohmann::json::parse(artifact_manifest_json(artifact(false))).contains("subject"));
  }

  TEST_CASE("annotations hold the PCRs in lower-case hex, PCR8 only when signed") {
    const auto a = eif_annotations(measurements(false), "aarch64", "9.9");
    CHECK(a.at("com.oci2eif.pcr1") == repeat("01", 48));
    CHECK(a.at("com.oci2eif.arch") == "aarch64");
    CHECK(a.at("com.oci2eif.version") == "9.9");
    CHECK(a.count("com.oci2eif.pcr8") == 0);
    const auto s = eif_annotations(measurements(true), "x86_64", "1");
    CHECK(s.at("com.oci2eif.pcr8").size() == 96);
    const auto pcrs = annotated_pcrs(s);
    CHECK(pcrs.size() == 4);
    CHECK(pcrs.at("PCR8") == s.at("com.oci2eif.pcr8"));
  }

  TEST_CASE("parse_eif_artifact reads back what artifact_manifest_json writes") {
    const std::string text = artifact_manifest_json(artifact(true));
    const Artifact a = parse_eif_artifact(as_bytes(text), "m");
    CHECK(a.layer.digest == kEif);
    CHECK(a.layer.size == 1234);
    CHECK(a.layer.annotations.at(eif_artifact::kTitle) == "app.eif");
    REQUIRE(a.subject);
    CHECK(a.subject->digest == kImage);
    CHECK(annotated_pcrs(a.annotations).size() == 3);
  }

  TEST_CASE("parse_eif_artifact refuses other artifacts and malformed ones, naming them") {
    nlohmann::json m = nlohmann::json::parse(artifact_manifest_json(artifact(false)));
    m["artifactType"] = "application/vnd.example.sbom";
    CHECK_THROWS_WITH_AS(parse_eif_artifact(as_bytes(m.dump()), "artifact x"),
                         doctest::Contains("artifact x: not an EIF artifact"), Error);
    m = nlohmann::json::parse(artifact_manifest_json(artifact(false)));
    m["layers"].push_back(m["layers"][0]);
    CHECK_THROWS_WITH_AS(parse_eif_artifact(as_bytes(m.dump()), "artifact x"),
                         doctest::Contains("exactly one layer"), Error);
    m = nlohmann::json::parse(artifact_manifest_json(artifact(false)));
    m["layers"][0]["digest"] = "sha256:short";
    CHECK_THROWS_AS(parse_eif_artifact(as_bytes(m.dump()), "artifact x"), Error);
    CHECK_THROWS_AS(parse_eif_artifact(as_bytes(std::string("[1]")), "artifact x"), Error);
  }

  TEST_CASE("provenance: a DSSE envelope artifact whose subject is the EIF artifact") {
    const std::string envelope = R"({"payloadType":"application/vnd.in-toto+json"})"
                                 "\n";
    const Descriptor eif{media_type::kOciManifest, kEif, 890, {}, {}};
    const Artifact a = provenance_artifact_of(envelope, eif);
    const std::string text = artifact_manifest_json(a);
    const nlohmann::json m = nlohmann::json::parse(text);
    CHECK(m["artifactType"] == "application/vnd.dsse.envelope.v1+json");
    CHECK(m["layers"][0]["mediaType"] == "application/vnd.dsse.envelope.v1+json");
    // sha256 of the envelope's bytes, computed by hand here (test_support), not by the code.
    CHECK(m["layers"][0]["digest"] == "sha256:" + test::sha256_hex(as_bytes(envelope)));
    CHECK(m["layers"][0]["size"] == envelope.size());
    CHECK(m["layers"][0]["annotations"]["org.opencontainers.image.title"] ==
          "provenance.intoto.jsonl");
    CHECK(m["annotations"]["in-toto.io/predicate-type"] == "https://slsa.dev/provenance/v1");
    CHECK(m["subject"] ==
          nlohmann::json{{"mediaType", media_type::kOciManifest}, {"digest", kEif}, {"size", 890}});
    const Artifact back = parse_artifact(as_bytes(text), provenance_artifact::kArtifactType,
                                         provenance_artifact::kLayerType, "p");
    CHECK(back.layer.digest == a.layer.digest);
    CHECK(back.subject->digest == kEif);
    CHECK_THROWS_WITH_AS(parse_eif_artifact(as_bytes(text), "p"),
                         doctest::Contains("p: not an EIF artifact"), Error);
    CHECK_THROWS_WITH_AS(parse_artifact(as_bytes(artifact_manifest_json(artifact(true))),
                                        provenance_artifact::kArtifactType,
                                        provenance_artifact::kLayerType, "e"),
                         doctest::Contains("e: not a provenance artifact"), Error);
  }

  TEST_CASE("the fallback tag is the subject digest with '-' for ':'") {
    CHECK(referrers_tag(kImage) == "sha256-" + std::string(64, 'a'));
    CHECK_THROWS_AS(referrers_tag("sha256:abc"), Error);
    CHECK_THROWS_AS(referrers_tag("latest"), Error);
  }

  TEST_CASE("add_referrer appends once and keeps other entries") {
    const Referrer r{media_type::kOciManifest,
                     kEif,
                     400,
                     eif_artifact::kArtifactType,
                     {{"com.oci2eif.pcr0", "00"}}};
    const auto first = add_referrer(empty_referrers_index(), r, "index");
    REQUIRE(first);
    const nlohmann::json j = nlohmann::json::parse(*first);
    CHECK(j["mediaType"] == "application/vnd.oci.image.index.v1+json");
    REQUIRE(j["manifests"].size() == 1);
    CHECK(j["manifests"][0]["artifactType"] == eif_artifact::kArtifactType);
    CHECK(j["manifests"][0]["annotations"]["com.oci2eif.pcr0"] == "00");
    CHECK_FALSE(add_referrer(*first, r, "index"));

    Referrer sbom = r;
    sbom.digest = kImage;
    sbom.artifact_type = "application/vnd.example.sbom";
    const auto both = add_referrer(*first, sbom, "index");
    REQUIRE(both);
    CHECK(nlohmann::json::parse(*both)["manifests"].size() == 2);
    const auto eifs = parse_referrers(as_bytes(*both), eif_artifact::kArtifactType, "index");
    REQUIRE(eifs.size() == 1);
    CHECK(eifs[0].digest == kEif);
    CHECK(eifs[0].size == 400);
    CHECK(eifs[0].annotations.at("com.oci2eif.pcr0") == "00");
  }

  TEST_CASE("a malformed referrers index is Corrupt, naming it") {
    const Referrer r{media_type::kOciManifest, kEif, 1, eif_artifact::kArtifactType, {}};
    CHECK_THROWS_WITH_AS(add_referrer("{\"manifests\":3}", r, "tag sha256-x"),
                         doctest::Contains("tag sha256-x"), Error);
    CHECK_THROWS_AS(parse_referrers(as_bytes(std::string("nope")), "t", "idx"), Error);
  }
}
