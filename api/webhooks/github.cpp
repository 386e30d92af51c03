// GitHub "package" and "registry_package" events for container packages (ghcr.io).
#include "api/webhooks/json_fields.hpp"
#include "api/webhooks/push_event.hpp"

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
  const nlohmann::json j = parse_object("github", body);
  ParsedDelivery out;
  if ((event != "package" && event != "registry_package") ||
      optional_string(j, "action", "github") != "published") {
    out.ignored = 1; // ping, updated, deleted, other events
    return out;
  }
  const std::string key = j.contains("registry_package") ? "registry_package" : "package";
  const std::string where = "github." + key;
  const nlohmann::json& pkg = required_member(j, key, "github");
  if (lower(optional_string(pkg, "package_type", where)) != "container") {
    out.ignored = 1;
    return out;
  }
  std::string owner = optional_string(pkg, "namespace", where);
  if (owner.empty() && pkg.contains("owner")) {
    owner = optional_string(pkg["owner"], "login", where + ".owner");
  }
  const std::string name = required_string(pkg, "name", where);
  const nlohmann::json& version = required_member(pkg, "package_version", where);
  const std::string vwhere = where + ".package_version";
  std::string tag, digest;
  if (version.contains("container_metadata") && version["container_metadata"].is_object() &&
      version["container_metadata"].contains("tag")) {
    const nlohmann::json& t = version["container_metadata"]["tag"];
    tag = optional_string(t, "name", vwhere + ".container_metadata.tag");
    digest = optional_string(t, "digest", vwhere + ".container_metadata.tag");
  }
  if (digest.empty()) {
    if (const std::string v = optional_string(version, "version", vwhere);
        v.starts_with("sha256:")) {
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
  std::string host = pkg.contains("registry") && pkg["registry"].is_object()
                         ? optional_string(pkg["registry"], "url", where + ".registry")
                         : "";
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
