#include "core/eif_describe.hpp"

namespace oci2eif {

using nlohmann::ordered_json;

nlohmann::ordered_json measurements_document(const Measurements& m) {
  ordered_json doc;
  doc["Measurements"] = ordered_json::parse(measurements_json(m));
  return doc;
}

namespace {

ordered_json certificate_json(const EifSignatureReport& sig) {
  ordered_json issuer = ordered_json::object();
  for (const auto& [name, value] : sig.certificate.issuer) {
    issuer[name] = value;
  }
  ordered_json cert;
  cert["IssuerName"] = issuer;
  cert["Algorithm"] = sig.certificate.algorithm;
  cert["NotBefore"] = sig.certificate.not_before;
  cert["NotAfter"] = sig.certificate.not_after;
  cert["Signature"] = sig.certificate.signature;
  return cert;
}

ordered_json metadata_json(const EifMetadata& m) {
  ordered_json out;
  out["BuildTime"] = m.build.build_time;
  out["BuildTool"] = m.build.build_tool;
  out["BuildToolVersion"] = m.build.build_tool_version;
  out["OperatingSystem"] = m.build.operating_system;
  out["KernelVersion"] = m.build.kernel_version;
  if (!m.docker_info.is_null()) {
    out["DockerInfo"] = ordered_json::parse(m.docker_info.dump());
  }
  if (m.custom_metadata.is_object()) {
    for (const auto& [key, value] : m.custom_metadata.items()) {
      out[key] = ordered_json::parse(value.dump());
    }
  } else if (!m.custom_metadata.is_null()) {
    out["CustomMetadata"] = ordered_json::parse(m.custom_metadata.dump());
  }
  return out;
}

} // namespace

nlohmann::ordered_json describe_json(const EifInfo& info) {
  ordered_json doc;
  doc["EifVersion"] = info.header.version;
  doc["Measurements"] = ordered_json::parse(measurements_json(info.measurements));
  doc["IsSigned"] = info.signature.has_value();
  if (info.signature) {
    doc["SigningCertificate"] = certificate_json(*info.signature);
  }
  // The strict reader refuses files with a bad CRC or signature, so these are always true here.
  doc["CheckCRC"] = true;
  if (info.signature) {
    doc["SignatureCheck"] = true;
  }
  doc["ImageName"] = info.metadata.image_name;
  doc["ImageVersion"] = info.metadata.image_version;
  doc["Metadata"] = metadata_json(info.metadata);
  ordered_json sections = ordered_json::array();
  for (const EifSection& s : info.sections) {
    sections.push_back({{"Type", section_type_name(static_cast<std::uint16_t>(s.type))},
                        {"Offset", s.offset},
                        {"Size", s.size}});
  }
  doc["Sections"] = sections;
  return doc;
}

} // namespace oci2eif
