// oci2eif referrers: the EIF artifacts built from an image, with their PCRs, as the registry
// lists them (the referrers API, else the OCI 1.1 fallback tag): what was built from this image,
// and what would it measure, without downloading an EIF.
#include "cli/artifact_options.hpp"
#include "cli/commands.hpp"
#include "registry/eif_artifact.hpp"
#include "registry/registry_pusher.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

namespace oci2eif::cli {
namespace {

nlohmann::ordered_json referrer_json(const registry::Referrer& r) {
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
          {"Measurements", pcrs}};
}

void print_human(const std::string& subject, const std::vector<registry::Referrer>& list,
                 std::ostream& out) {
  out << list.size() << " EIF artifact" << (list.size() == 1 ? "" : "s") << " built from "
      << subject << "\n";
  for (const registry::Referrer& r : list) {
    const nlohmann::ordered_json j = referrer_json(r);
    out << r.digest << "  " << j["arch"].get<std::string>() << "  oci2eif "
        << j["version"].get<std::string>() << "\n";
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
  const std::vector<registry::Referrer> list =
      registry::artifact_referrers(ref, options, subject, registry::eif_artifact::kArtifactType);
  if (!o.json) {
    print_human(subject, list, out);
    return;
  }
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const registry::Referrer& r : list) {
    items.push_back(referrer_json(r));
  }
  out << nlohmann::ordered_json{{"subject", subject}, {"referrers", items}}.dump(2) << "\n";
}

} // namespace oci2eif::cli
