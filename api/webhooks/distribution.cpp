// Docker Distribution notifications (the envelope docker-registry POSTs to its endpoints).
#include "api/webhooks/json_fields.hpp"
#include "api/webhooks/push_event.hpp"
#include "core/error.hpp"

#include <array>
#include <string_view>

namespace oci2eif::api::webhooks {
namespace {

constexpr std::array<std::string_view, 4> kManifestTypes{
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
};

bool is_manifest_type(const std::string& media_type) {
  for (const std::string_view t : kManifestTypes) {
    if (media_type == t) {
      return true;
    }
  }
  return false;
}

} // namespace

ParsedDelivery parse_distribution(const std::string& body) {
  const nlohmann::json j = parse_object("distribution", body);
  const nlohmann::json& events = required_member(j, "events", "distribution", true);
  ParsedDelivery out;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::string where = "distribution events[" + std::to_string(i) + "]";
    const nlohmann::json& e = events[i];
    if (!e.is_object()) {
      throw Error(ErrorCode::InvalidInput, where + ": expected an object");
    }
    const std::string action = optional_string(e, "action", where);
    const nlohmann::json& target = required_member(e, "target", where);
    const std::string media_type = optional_string(target, "mediaType", where + ".target");
    const std::string tag = optional_string(target, "tag", where + ".target");
    if (action != "push" || !is_manifest_type(media_type) || tag.empty()) {
      ++out.ignored;
      continue;
    }
    PushEvent p;
    p.repository = required_string(target, "repository", where + ".target");
    p.tag = tag;
    if (const std::string d = optional_string(target, "digest", where + ".target"); !d.empty()) {
      p.digest = d;
    }
    if (e.contains("request")) {
      p.host = optional_string(e["request"], "host", where + ".request");
    }
    p.event_id = optional_string(e, "id", where);
    out.pushes.push_back(std::move(p));
  }
  return out;
}

} // namespace oci2eif::api::webhooks
