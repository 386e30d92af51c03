#include "registry/eif_artifact.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/provenance.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif::registry {
namespace {

using nlohmann::json;

json descriptor_json(const std::string& media_type, const std::string& digest, std::uint64_t size) {
  return json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

// The document in `text` as a JSON object; Corrupt naming `what` otherwise.
json parse_object(ByteView text, const std::string& what) {
  json j = json::parse(as_chars(text), nullptr, false);
  if (!j.is_object()) {
    throw Error(ErrorCode::Corrupt, what + ": not a JSON object");
  }
  return j;
}

std::string string_field(const json& j, const char* key, const std::string& what) {
  if (!j.contains(key) || !j[key].is_string()) {
    throw Error(ErrorCode::Corrupt, what + ": \"" + key + "\" is missing or not a string");
  }
  return j[key].get<std::string>();
}

// A descriptor object of a manifest or index: mediaType, digest and size checked, annotations
// kept when they are all strings.
Descriptor parse_descriptor(const json& j, const std::string& what) {
  if (!j.is_object()) {
    throw Error(ErrorCode::Corrupt, what + ": a descriptor is not an object");
  }
  Descriptor d;
  d.media_type = string_field(j, "mediaType", what);
  d.digest = string_field(j, "digest", what);
  validate_digest(d.digest, what);
  if (!j.contains("size") || !j["size"].is_number_unsigned()) {
    throw Error(ErrorCode::Corrupt, what + ": descriptor " + d.digest + " has no valid size");
  }
  d.size = j["size"].get<std::uint64_t>();
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (const auto& [key, value] : j["annotations"].items()) {
      if (value.is_string()) {
        d.annotations[key] = value.get<std::string>();
      }
    }
  }
  return d;
}

std::map<std::string, std::string> string_map(const json& j) {
  std::map<std::string, std::string> out;
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (value.is_string()) {
        out[key] = value.get<std::string>();
      }
    }
  }
  return out;
}

// "an EIF" or "a provenance": what an artifact type is, for errors.
std::string artifact_kind(const std::string& artifact_type) {
  return artifact_type == eif_artifact::kArtifactType ? "an EIF" : "a provenance";
}

} // namespace

std::map<std::string, std::string> eif_annotations(const Measurements& m, const std::string& arch,
                                                   const std::string& version) {
  std::map<std::string, std::string> a{{eif_artifact::kArch, arch},
                                       {eif_artifact::kVersion, version}};
  for (const auto& [pcr, hex] : pcr_hex_map(m)) {
    a[eif_artifact::kPcrPrefix + pcr.substr(3)] = hex; // "PCR0" → "com.oci2eif.pcr0"
  }
  return a;
}

std::string artifact_manifest_json(const Artifact& a) {
  json layer = descriptor_json(a.layer.media_type, a.layer.digest, a.layer.size);
  if (!a.layer.annotations.empty()) {
    layer["annotations"] = a.layer.annotations;
  }
  json m{{"schemaVersion", 2},
         {"mediaType", media_type::kOciManifest},
         {"artifactType", a.artifact_type},
         {"config", descriptor_json(eif_artifact::kEmptyType, eif_artifact::kEmptyDigest, 2)},
         {"layers", json::array({layer})}};
  if (!a.annotations.empty()) {
    m["annotations"] = a.annotations;
  }
  if (a.subject) {
    m["subject"] = descriptor_json(a.subject->media_type, a.subject->digest, a.subject->size);
  }
  return m.dump();
}

Artifact provenance_artifact_of(const std::string& envelope, const Descriptor& eif_manifest) {
  Artifact a;
  a.artifact_type = provenance_artifact::kArtifactType;
  a.layer = {provenance_artifact::kLayerType,
             sha256_digest(as_bytes(envelope)),
             envelope.size(),
             {},
             {{eif_artifact::kTitle, provenance_artifact::kFileName}}};
  a.annotations = {{provenance_artifact::kPredicateTypeKey, kSlsaProvenanceType}};
  a.subject = Descriptor{eif_manifest.media_type, eif_manifest.digest, eif_manifest.size, {}, {}};
  return a;
}

Artifact parse_artifact(ByteView text, const std::string& artifact_type,
                        const std::string& layer_type, const std::string& what) {
  const json m = parse_object(text, what);
  const std::string type = m.value("artifactType", std::string());
  if (type != artifact_type) {
    throw Error(ErrorCode::Unsupported, what + ": not " + artifact_kind(artifact_type) +
                                            " artifact (artifactType \"" + type + "\", expected " +
                                            artifact_type + ")");
  }
  if (m.value("mediaType", std::string(media_type::kOciManifest)) != media_type::kOciManifest) {
    throw Error(ErrorCode::Corrupt,
                what + ": mediaType is not " + std::string(media_type::kOciManifest));
  }
  if (!m.contains("layers") || !m["layers"].is_array() || m["layers"].size() != 1) {
    throw Error(ErrorCode::Corrupt,
                what + ": " + artifact_kind(artifact_type) + " artifact has exactly one layer");
  }
  Artifact a;
  a.artifact_type = type;
  a.layer = parse_descriptor(m["layers"][0], what);
  if (a.layer.media_type != layer_type) {
    throw Error(ErrorCode::Corrupt,
                what + ": its layer is " + a.layer.media_type + ", not " + layer_type);
  }
  a.annotations = string_map(m.value("annotations", json::object()));
  if (m.contains("subject")) {
    a.subject = parse_descriptor(m["subject"], what + " subject");
  }
  return a;
}

Artifact parse_eif_artifact(ByteView text, const std::string& what) {
  return parse_artifact(text, eif_artifact::kArtifactType, eif_artifact::kLayerType, what);
}

std::map<std::string, std::string> annotated_pcrs(const std::map<std::string, std::string>& a) {
  std::map<std::string, std::string> pcrs;
  for (const char* n : {"0", "1", "2", "8"}) {
    if (const auto it = a.find(std::string(eif_artifact::kPcrPrefix) + n); it != a.end()) {
      pcrs[std::string("PCR") + n] = it->second;
    }
  }
  return pcrs;
}

std::string referrers_tag(const std::string& digest) {
  validate_digest(digest, "subject digest");
  return "sha256-" + digest.substr(7);
}

std::string empty_referrers_index() {
  return json{
      {"schemaVersion", 2}, {"mediaType", media_type::kOciIndex}, {"manifests", json::array()}}
      .dump();
}

std::optional<std::string> add_referrer(const std::string& index_json, const Referrer& r,
                                        const std::string& what) {
  json index = parse_object(as_bytes(index_json), what);
  if (!index.contains("manifests") || !index["manifests"].is_array()) {
    throw Error(ErrorCode::Corrupt, what + ": \"manifests\" is missing or not an array");
  }
  for (const json& entry : index["manifests"]) {
    if (entry.is_object() && entry.value("digest", std::string()) == r.digest) {
      return std::nullopt;
    }
  }
  json d = descriptor_json(r.media_type, r.digest, r.size);
  d["artifactType"] = r.artifact_type;
  if (!r.annotations.empty()) {
    d["annotations"] = r.annotations;
  }
  index["manifests"].push_back(d);
  return index.dump();
}

std::vector<Referrer> parse_referrers(ByteView text, const std::string& artifact_type,
                                      const std::string& what) {
  const json index = parse_object(text, what);
  if (!index.contains("manifests") || !index["manifests"].is_array()) {
    throw Error(ErrorCode::Corrupt, what + ": \"manifests\" is missing or not an array");
  }
  std::vector<Referrer> out;
  for (const json& entry : index["manifests"]) {
    if (!entry.is_object() || entry.value("artifactType", std::string()) != artifact_type) {
      continue;
    }
    const Descriptor d = parse_descriptor(entry, what);
    out.push_back({d.media_type, d.digest, d.size, artifact_type, d.annotations});
  }
  return out;
}

} // namespace oci2eif::registry
