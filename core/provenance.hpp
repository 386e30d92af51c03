// The provenance of an EIF as an in-toto Statement v1 (github.com/in-toto/attestation,
// spec/v1/statement.md) carrying a SLSA Provenance v1 predicate (slsa.dev/spec/v1.0/provenance),
// documented field by field in docs/provenance.md:
//
//   subject    the EIF: name, {"sha256"}, and its PCRs as annotations (PCR0, PCR1, PCR2[, PCR8])
//   predicate  buildDefinition: buildType, externalParameters (the request),
//                               resolvedDependencies (manifest, config, layers, kernel, its
//                               config, init, nsm.ko: each with its sha256)
//              runDetails: builder {id, version}, metadata {invocationId} (the build id)
//
// No clock: the same inputs give the same statement. (A signed EIF's digest still differs per
// build, as its COSE signature is randomised ECDSA; its PCRs do not.)
#pragma once

#include "core/bytes.hpp"
#include "core/pcr.hpp"

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oci2eif {

inline constexpr const char* kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr const char* kSlsaProvenanceType = "https://slsa.dev/provenance/v1";
// The largest provenance.intoto.jsonl read (by `verify`, `push`, `fetch`): far above what a build
// writes (its dependencies are a few dozen digests), small enough to hold in memory.
inline constexpr std::size_t kMaxProvenanceSize = 16 << 20;
inline constexpr const char* kOci2eifBuildType =
    "urn:oci2eif:buildtype:eif:v1"; // docs/provenance.md

struct ProvenanceDependency {
  std::string name;   // "image manifest", "layer 1", "kernel", …
  std::string uri;    // "" when there is none worth naming
  std::string sha256; // hex
};

struct ProvenanceInputs {
  std::string eif_name = "image.eif";
  std::string eif_sha256; // hex
  Measurements measurements;
  nlohmann::ordered_json external_parameters = nlohmann::ordered_json::object();
  std::vector<ProvenanceDependency> dependencies;
  std::string builder_id;
  std::string builder_version;
  std::string invocation_id; // "" = none
};

nlohmann::ordered_json provenance_statement(const ProvenanceInputs& inputs);

// What `verify` reads back from a statement's subjects.
struct ProvenanceSubject {
  std::string name;
  std::string sha256;                      // hex; "" when the subject has none
  std::map<std::string, std::string> pcrs; // annotation PCRn → hex
};

// Throws Corrupt naming `source` unless `payload` is an in-toto v1 statement with a SLSA v1
// predicate and at least one subject.
std::vector<ProvenanceSubject> statement_subjects(ByteView payload, const std::string& source);

} // namespace oci2eif
