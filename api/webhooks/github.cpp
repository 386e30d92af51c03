// GitHub "package" and "registry_package" events for container packages (ghcr.io).
#include "api/webhooks/push_event.hpp"
#include "core/json_fields.hpp"

#include <algorithm>
#include <cctype>

namespace oci2eif::api::webhooks {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

} // namespace

ParsedDelivery parse_github(const std::string& body, const std::string& event) {
  const JsonDocument doc(body, "github payload", ErrorCode::InvalidInput);
  const JsonField& j = doc.root();
  ParsedDelivery out;
  if ((event != "package" && event != "registry_package") ||
      j["action"].string_or("") != "published") {
    out.ignored = 1; // ping, updated, deleted, other events
    return out;
  }
  const JsonField pkg = j[j["registry_package"].exists() ? "registry_package" : "package"].object();
  if (lower(pkg["package_type"].string_or("")) != "container") {
    out.ignored = 1;
    return out;
  }
  std::string owner = pkg["namespace"].string_or("");
  if (owner.empty()) {
    owner = pkg["owner"]["login"].string_or("");
  }
  const std::string name = pkg["name"].non_empty_string();
  const JsonField version = pkg["package_version"].object();
  const JsonField tag_metadata = version["container_metadata"]["tag"];
  std::string tag = tag_metadata["name"].string_or("");
  std::string digest = tag_metadata["digest"].string_or("");
  if (digest.empty()) {
    if (const std::string v = version["version"].string_or(""); v.starts_with("sha256:")) {
      digest = v;
    }
  }
  if (tag.empty()) {
    out.ignored = 1; // an untagged version (a platform manifest of a multi-arch image)
    return out;
  }
  PushEvent p;
  p.repository = lower(owner.empty() ? name : owner + "/" + name);
  p.tag = tag;
  if (!digest.empty()) {
    p.digest = digest;
  }
  std::string host = pkg["registry"]["url"].string_or("");
  for (const std::string_view scheme : {"https://", "http://"}) {
    if (host.starts_with(scheme)) {
      host = host.substr(scheme.size());
    }
  }
  while (!host.empty() && host.back() == '/') {
    host.pop_back();
  }
  p.host = host;
  out.pushes.push_back(std::move(p));
  return out;
}

} // namespace oci2eif::api::webhooks
