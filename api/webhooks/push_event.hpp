// Registry webhook adapters: each turns one source's delivery body into the image pushes it
// announces. They only parse; authentication, rules, dedupe and queueing are webhook_handler's.
//
//   distribution  Docker Distribution / docker-registry notifications: {"events": [...]}; an
//                 event counts when action == "push", target.mediaType is a manifest or index
//                 type and target.tag is set (untagged pushes are an index's children)
//   harbor        type PUSH_ARTIFACT; event_data.repository.repo_full_name and
//                 event_data.resources[].{tag, digest, resource_url}
//   dockerhub     push_data.tag and repository.repo_name; no digest (the tag is only a hint:
//                 the build resolves it from the registry)
//   github        X-GitHub-Event "package" or "registry_package", action "published", a
//                 container package with package_version.container_metadata.tag.{name, digest}
// Anything else in a well-formed body (pulls, deletes, blobs, other event types) is counted as
// ignored. A body that is not the source's shape throws InvalidInput naming the field.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace oci2eif::api::webhooks {

struct PushEvent {
  std::string host;       // registry host[:port] as the payload names it; "" if it does not
  std::string repository; // e.g. "test/busybox"
  std::string tag;
  std::optional<std::string> digest; // "sha256:…" when the payload has it
  std::string event_id;              // the delivery's own id for the event, "" if none
};

struct ParsedDelivery {
  std::vector<PushEvent> pushes;
  std::size_t ignored = 0; // events that are not image pushes
};

ParsedDelivery parse_distribution(const std::string& body);
ParsedDelivery parse_harbor(const std::string& body);
ParsedDelivery parse_dockerhub(const std::string& body);
// `event` is the X-GitHub-Event header.
ParsedDelivery parse_github(const std::string& body, const std::string& event);

} // namespace oci2eif::api::webhooks
