// Harbor webhooks (policy type "http", payload format "Default").
#include "api/webhooks/json_fields.hpp"
#include "api/webhooks/push_event.hpp"

namespace oci2eif::api::webhooks {

ParsedDelivery parse_harbor(const std::string& body) {
  const nlohmann::json j = parse_object("harbor", body);
  ParsedDelivery out;
  if (required_string(j, "type", "harbor") != "PUSH_ARTIFACT") {
    out.ignored = 1;
    return out;
  }
  const nlohmann::json& data = required_member(j, "event_data", "harbor");
  const std::string repository =
      required_string(required_member(data, "repository", "harbor.event_data"), "repo_full_name",
                      "harbor.event_data.repository");
  const nlohmann::json& resources = required_member(data, "resources", "harbor.event_data", true);
  for (std::size_t i = 0; i < resources.size(); ++i) {
    const std::string where = "harbor.event_data.resources[" + std::to_string(i) + "]";
    const std::string tag = optional_string(resources[i], "tag", where);
    if (tag.empty()) {
      ++out.ignored;
      continue;
    }
    PushEvent p;
    p.repository = repository;
    p.tag = tag;
    if (const std::string d = optional_string(resources[i], "digest", where); !d.empty()) {
      p.digest = d;
    }
    // resource_url is "HOST/REPOSITORY:TAG" (or @DIGEST): the host is what precedes the repository.
    const std::string url = optional_string(resources[i], "resource_url", where);
    if (const auto at = url.find("/" + repository); at != std::string::npos && at > 0) {
      p.host = url.substr(0, at);
    }
    out.pushes.push_back(std::move(p));
  }
  return out;
}

} // namespace oci2eif::api::webhooks
