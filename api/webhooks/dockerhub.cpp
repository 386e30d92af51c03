// Docker Hub repository webhooks. They carry no digest and no signature: the tag is a hint the
// build resolves from the registry, and authentication is the configured header secret.
#include "api/webhooks/json_fields.hpp"
#include "api/webhooks/push_event.hpp"

namespace oci2eif::api::webhooks {

ParsedDelivery parse_dockerhub(const std::string& body) {
  const nlohmann::json j = parse_object("dockerhub", body);
  const nlohmann::json& push = required_member(j, "push_data", "dockerhub");
  PushEvent p;
  p.repository = required_string(required_member(j, "repository", "dockerhub"), "repo_name",
                                 "dockerhub.repository");
  p.tag = optional_string(push, "tag", "dockerhub.push_data");
  ParsedDelivery out;
  if (p.tag.empty()) {
    out.ignored = 1;
    return out;
  }
  // pushed_at (seconds) tells two pushes of one tag apart; absent, the tag alone is the key.
  if (push.contains("pushed_at") && push["pushed_at"].is_number()) {
    p.event_id = "pushed_at:" + push["pushed_at"].dump();
  }
  out.pushes.push_back(std::move(p));
  return out;
}

} // namespace oci2eif::api::webhooks
