// oci2eif referrers: the EIF artifacts built from an image, with their PCRs and the provenance
// attached to each, as the registry lists them (the referrers API, else the OCI 1.1 fallback
// tag): what was built from this image, what would it measure, and can that be verified,
// without downloading an EIF.
#include "cli/artifact_options.hpp"
#include "cli/commands.hpp"
#include "registry/eif_artifact.hpp"
#include "registry/registry_pusher.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

namespace oci2eif::cli {
namespace {

// The EIF artifact `r` with its PCRs and the newest provenance attached to it (null if none).
nlohmann::ordered_json referrer_json(const registry::Referrer& r,
                                     const std::optional<std::string>& provenance) {
  nlohmann::ordered_json pcrs = nlohmann::ordered_json::object();
  for (const auto& [pcr, value] : registry::annotated_pcrs(r.annotations)) {
    pcrs[pcr] = value;
  }
  const auto annotation = [&](const char* key) {
    const auto it = r.annotations.find(key);
    return it == r.annotations.end() ? std::string() : it->second;
  };
  return {{"digest", r.digest},
          {"size", r.size},
          {"arch", annotation(registry::eif_artifact::kArch)},
          {"version", annotation(registry::eif_artifact::kVersion)},
          {"Measurements", pcrs},
          {"provenance", provenance ? nlohmann::ordered_json(*provenance) : nullptr}};
}

void print_human(const std::string& subject, const nlohmann::ordered_json& items,
                 std::ostream& out) {
  out << items.size() << " EIF artifact" << (items.size() == 1 ? "" : "s") << " built from "
      << subject << "\n";
  for (const nlohmann::ordered_json& j : items) {
    out << j["digest"].get<std::string>() << "  " << j["arch"].get<std::string>() << "  oci2eif "
        << j["version"].get<std::string>() << "\n";
    if (j["provenance"].is_string()) {
      out << "  provenance  " << j["provenance"].get<std::string>() << "\n";
    }
    for (const auto& [pcr, value] : j["Measurements"].items()) {
      out << "  " << pcr << "  " << value.get<std::string>() << "\n";
    }
  }
}

} // namespace

void run_referrers(const ArtifactOptions& o, std::ostream& out, std::ostream& log) {
  const registry::Reference ref = registry::Reference::parse(o.reference);
  const registry::RegistryOptions options = artifact_registry_options(o, log);
  const std::string subject = manifest_descriptor(ref, options).digest;
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const registry::Referrer& r :
       registry::artifact_referrers(ref, options, subject, registry::eif_artifact::kArtifactType)) {
    const auto attached = registry::artifact_referrers(
        ref, options, r.digest, registry::provenance_artifact::kArtifactType);
    items.push_back(
        referrer_json(r, attached.empty() ? std::nullopt : std::optional(attached.back().digest)));
  }
  if (!o.json) {
    print_human(subject, items, out);
    return;
  }
  out << nlohmann::ordered_json{{"subject", subject}, {"referrers", items}}.dump(2) << "\n";
}

} // namespace oci2eif::cli
