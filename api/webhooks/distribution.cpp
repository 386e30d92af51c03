// Docker Distribution notifications (the envelope docker-registry POSTs to its endpoints).
#include "api/webhooks/push_event.hpp"
#include "core/json_fields.hpp"

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
  const JsonDocument doc(body, "distribution payload", ErrorCode::InvalidInput);
  ParsedDelivery out;
  for (const JsonField& e : doc.root()["events"].elements()) {
    e.object();
    const std::string action = e["action"].string_or("");
    const JsonField target = e["target"].object();
    const std::string media_type = target["mediaType"].string_or("");
    const std::string tag = target["tag"].string_or("");
    if (action != "push" || !is_manifest_type(media_type) || tag.empty()) {
      ++out.ignored;
      continue;
    }
    PushEvent p;
    p.repository = target["repository"].non_empty_string();
    p.tag = tag;
    if (const std::string d = target["digest"].string_or(""); !d.empty()) {
      p.digest = d;
    }
    p.host = e["request"]["host"].string_or("");
    p.event_id = e["id"].string_or("");
    out.pushes.push_back(std::move(p));
  }
  return out;
}

} // namespace oci2eif::api::webhooks
