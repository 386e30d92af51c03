// eif_publisher: an EIF checked and hashed in one read, which image a pushed EIF names as its
// subject, and what a push reports.
#include "core/error.hpp"
#include "pipeline/eif_publisher.hpp"
#include "tests/unit/test_support.hpp"

#include <doctest/doctest.h>

using namespace oci2eif;
using namespace oci2eif::pipeline;

namespace {

const std::string kIndex = "sha256:" + std::string(64, '1');

registry::ResolvedImage resolved_from_index() {
  registry::ResolvedImage r;
  r.root = registry::Descriptor{registry::media_type::kOciIndex, kIndex, 321, {}, {}};
  r.manifest_digest = "sha256:" + std::string(64, '2'); // the platform's manifest
  return r;
}

ImageRef registry_image(const std::string& ref) {
  return {SourceKind::Registry, ref, {}, {}, {}};
}

const nlohmann::json& vector(const char* name) {
  return test::vectors_json()["vectors"][name];
}

} // namespace

TEST_SUITE("pipeline::eif_publisher") {
  TEST_CASE("check_eif gives AWS's reference EIFs their PCRs and whole-file SHA-256 in one read") {
    for (const char* name : {"a", "c"}) { // unsigned, signed
      CAPTURE(name);
      const auto& v = vector(name);
      const CheckedEif eif = check_eif(test::vector_file(name[0]));
      CHECK(eif.sha256 == "sha256:" + v["sha256"].get<std::string>());
      CHECK(eif.info.size == v["size"]);
      CHECK(to_hex(eif.info.measurements.pcr0) == v["measurements"]["PCR0"]);
      CHECK(to_hex(eif.info.measurements.pcr2) == v["measurements"]["PCR2"]);
      const registry::Artifact artifact = eif_artifact_of(eif);
      CHECK(artifact.layer.digest == eif.sha256);
      CHECK(artifact.layer.size == v["size"]);
      CHECK(artifact.layer.annotations.at(registry::eif_artifact::kTitle) == v["file"]);
    }
  }

  TEST_CASE("check_eif takes a build's own PCRs, still checks the file, and hashes all of it") {
    const Measurements given{Bytes(48, 0x11), Bytes(48, 0x22), Bytes(48, 0x33), {}};
    const CheckedEif eif = check_eif(test::vector_file('a'), given);
    CHECK(eif.info.measurements.pcr0 == given.pcr0);
    CHECK(eif.sha256 == "sha256:" + vector("a")["sha256"].get<std::string>());

    test::TempDir dir;
    Bytes flipped = test::read_file(test::vector_file('a'));
    flipped[flipped.size() - 100] ^= 0x01;
    test::write_file(dir / "image.eif", flipped);
    CHECK(test::code_of([&] { check_eif(dir / "image.eif", given); }) == ErrorCode::Corrupt);
    CHECK(test::error_of([&] {
            check_eif(dir / "image.eif", given);
          }).find((dir / "image.eif").string() + ": CRC mismatch") == 0);
  }

  TEST_CASE("the subject is what the image reference resolved to, in the target's repository") {
    const auto target = registry::Reference::parse("r.example:5000/team/app:v1-eif");
    const auto subject =
        push_subject(registry_image("r.example:5000/team/app:v1"), resolved_from_index(), target);
    REQUIRE(subject);
    // The index the tag names, not the platform's manifest: `referrers IMAGE:TAG` finds it.
    CHECK(subject->digest == kIndex);
    CHECK(subject->media_type == registry::media_type::kOciIndex);
    CHECK(subject->size == 321);
    // Another repository, another registry, or a local image: no subject.
    CHECK_FALSE(push_subject(registry_image("r.example:5000/team/other:v1"), resolved_from_index(),
                             target));
    CHECK_FALSE(
        push_subject(registry_image("r.example/team/app:v1"), resolved_from_index(), target));
    CHECK_FALSE(push_subject({SourceKind::OciLayout, "/images/app", {}, {}, {}},
                             resolved_from_index(), target));
  }

  TEST_CASE("pushed_json says where the EIF went, its subject, referrers and provenance") {
    PushedEif p;
    p.reference = "r.example/team/app:eif@sha256:" + std::string(64, 'e');
    p.eif.digest = "sha256:" + std::string(64, 'e');
    p.eif.blobs_uploaded = 2;
    nlohmann::ordered_json j = pushed_json(p);
    CHECK(j.dump() == R"({"digest":"sha256:)" + std::string(64, 'e') + R"(","reference":")" +
                          p.reference +
                          R"(","subject":null,"blobs_uploaded":2,"referrers":null,)"
                          R"("provenance":null})");
    p.subject_digest = kIndex;
    p.provenance = registry::PushedArtifact{"sha256:" + std::string(64, 'f'), 400, 1, false};
    j = pushed_json(p);
    CHECK(j["subject"] == kIndex);
    CHECK(j["referrers"] == "tag sha256-" + std::string(64, '1'));
    CHECK(j["provenance"]["digest"] == "sha256:" + std::string(64, 'f'));
    CHECK(j["provenance"]["referrers"] == "tag sha256-" + std::string(64, 'e'));
  }
}
