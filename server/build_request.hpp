// A build request as the API accepts it (POST /v1/builds) and the job store keeps it:
//
//   {"image": "oci-layout:/srv/images/app:1.0",   required; see image_reference.hpp
//    "platform": "linux/amd64", "kernel": "cloud", "cmdline": "…",
//    "entrypoint": ["…"], "cmd": ["…"], "env": ["K=V"], "compress": "none" | "gzip",
//    "name": "…", "version": "…", "metadata": {…}, "signing_key": "prod",
//    "push": "registry.example/team/app:1.0-eif", "labels": {"k": "v"}}
//
// `metadata` is custom metadata for the EIF (a JSON object of at most 4096 bytes, as nitro-cli's
// --metadata file); `signing_key` names a key the operator configured (private keys never
// travel in requests). `push` stores the EIF (and a signed build's provenance) in that registry
// as an OCI artifact once built (docs/oci-artifacts.md); the service allows it only to the
// repositories its `push_targets` configuration lists.
//
// Unknown fields are refused (a typo must not silently build something else).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::server {

struct BuildRequest {
  std::string image;
  std::optional<std::string> platform;
  std::optional<std::string> kernel; // a kernel catalog name; default: the first
  std::optional<std::string> cmdline;
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> env;
  std::string compress = "none";
  std::optional<std::string> name;
  std::optional<std::string> version;
  std::optional<nlohmann::json> metadata; // an object
  std::optional<std::string> signing_key; // a configured signing key's name
  std::optional<std::string> push;        // a registry reference (by tag) for the EIF artifact
  std::map<std::string, std::string> labels;
};

// Parses and validates (types, sizes, image prefix, platform syntax, env KEY=VALUE). Throws
// InvalidInput naming the field, or Unsupported for a registry image.
BuildRequest parse_build_request(const std::string& json_text);

// Canonical JSON (sorted keys, absent optionals omitted); parse_build_request() reads it back.
std::string to_json(const BuildRequest& request);

} // namespace oci2eif::server
