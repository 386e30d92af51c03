#include "core/provenance.hpp"

#include "core/error.hpp"
#include "core/json_fields.hpp"

namespace oci2eif {
namespace {

using Json = nlohmann::ordered_json;

Json subject_json(const ProvenanceInputs& in) {
  Json pcrs = Json::object();
  for (const auto& [pcr, hex] : pcr_hex_map(in.measurements)) { // PCR0, PCR1, PCR2[, PCR8]
    pcrs[pcr] = hex;
  }
  return Json::array({{{"name", in.eif_name},
                       {"digest", {{"sha256", in.eif_sha256}}},
                       {"annotations", std::move(pcrs)}}});
}

Json dependencies_json(const std::vector<ProvenanceDependency>& deps) {
  Json out = Json::array();
  for (const ProvenanceDependency& d : deps) {
    Json j{{"name", d.name}};
    if (!d.uri.empty()) {
      j["uri"] = d.uri;
    }
    j["digest"] = {{"sha256", d.sha256}};
    out.push_back(std::move(j));
  }
  return out;
}

} // namespace

nlohmann::ordered_json provenance_statement(const ProvenanceInputs& in) {
  Json run{{"builder", {{"id", in.builder_id}, {"version", {{"oci2eif", in.builder_version}}}}}};
  if (!in.invocation_id.empty()) {
    run["metadata"] = {{"invocationId", in.invocation_id}};
  }
  return {{"_type", kStatementType},
          {"subject", subject_json(in)},
          {"predicateType", kSlsaProvenanceType},
          {"predicate",
           {{"buildDefinition",
             {{"buildType", kOci2eifBuildType},
              {"externalParameters", in.external_parameters},
              {"resolvedDependencies", dependencies_json(in.dependencies)}}},
            {"runDetails", std::move(run)}}}};
}

std::vector<ProvenanceSubject> statement_subjects(ByteView payload, const std::string& source) {
  const JsonDocument doc(as_chars(payload), source, ErrorCode::Corrupt);
  const JsonField& root = doc.root();
  if (root["_type"].string() != kStatementType) {
    root["_type"].fail(std::string("not an in-toto statement (expected ") + kStatementType + ")");
  }
  if (root["predicateType"].string() != kSlsaProvenanceType) {
    root["predicateType"].fail(std::string("not SLSA provenance (expected ") + kSlsaProvenanceType +
                               ")");
  }
  const std::vector<JsonField> subjects = root["subject"].elements();
  if (subjects.empty()) {
    root["subject"].fail("the statement has no subject");
  }
  std::vector<ProvenanceSubject> out;
  for (const JsonField& s : subjects) {
    ProvenanceSubject subject{
        s.object()["name"].string_or(""), s["digest"]["sha256"].string_or(""), {}};
    if (s["annotations"].present()) {
      for (const auto& [key, value] : s["annotations"].members()) {
        if (key.starts_with("PCR")) {
          subject.pcrs[key] = value.string();
        }
      }
    }
    out.push_back(std::move(subject));
  }
  return out;
}

} // namespace oci2eif
