// Harbor webhooks (policy type "http", payload format "Default").
#include "api/webhooks/push_event.hpp"
#include "core/json_fields.hpp"

namespace oci2eif::api::webhooks {

ParsedDelivery parse_harbor(const std::string& body) {
  const JsonDocument doc(body, "harbor payload", ErrorCode::InvalidInput);
  ParsedDelivery out;
  if (doc.root()["type"].non_empty_string() != "PUSH_ARTIFACT") {
    out.ignored = 1;
    return out;
  }
  const JsonField data = doc.root()["event_data"].object();
  const std::string repository = data["repository"].object()["repo_full_name"].non_empty_string();
  for (const JsonField& resource : data["resources"].elements()) {
    const std::string tag = resource["tag"].string_or("");
    if (tag.empty()) {
      ++out.ignored;
      continue;
    }
    PushEvent p;
    p.repository = repository;
    p.tag = tag;
    if (const std::string d = resource["digest"].string_or(""); !d.empty()) {
      p.digest = d;
    }
    // resource_url is "HOST/REPOSITORY:TAG" (or @DIGEST): the host is what precedes the repository.
    const std::string url = resource["resource_url"].string_or("");
    if (const auto at = url.find("/" + repository); at != std::string::npos && at > 0) {
      p.host = url.substr(0, at);
    }
    out.pushes.push_back(std::move(p));
  }
  return out;
}

} // namespace oci2eif::api::webhooks
