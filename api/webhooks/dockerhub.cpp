// Docker Hub repository webhooks. They carry no digest and no signature: the tag is a hint the
// build resolves from the registry, and authentication is the configured header secret.
#include "api/webhooks/push_event.hpp"
#include "core/json_fields.hpp"

namespace oci2eif::api::webhooks {

ParsedDelivery parse_dockerhub(const std::string& body) {
  const JsonDocument doc(body, "dockerhub payload", ErrorCode::InvalidInput);
  const JsonField push = doc.root()["push_data"].object();
  PushEvent p;
  p.repository = doc.root()["repository"].object()["repo_name"].non_empty_string();
  p.tag = push["tag"].string_or("");
  ParsedDelivery out;
  if (p.tag.empty()) {
    out.ignored = 1;
    return out;
  }
  // pushed_at (seconds) tells two pushes of one tag apart; absent, the tag alone is the key.
  if (const JsonField at = push["pushed_at"]; at.present() && at.value().is_number()) {
    p.event_id = "pushed_at:" + at.value().dump();
  }
  out.pushes.push_back(std::move(p));
  return out;
}

} // namespace oci2eif::api::webhooks
