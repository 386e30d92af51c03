// Registry credentials as docker finds them: $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json, with
//   "auths":       { "<registry>": { "auth": base64("user:pass") } | { "identitytoken": "…" } }
//   "credHelpers": { "<registry>": "<helper>" }   → runs docker-credential-<helper> get
//   "credsStore":  "<helper>"                      → the same, for every registry
// Credentials never appear in errors or logs: messages name the registry and the file only.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::registry {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token; // an OAuth2 refresh token (docker login with a token)
};

// The docker config path: $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::filesystem::path default_docker_config_path();

// The credentials configured for `domain` (a Reference domain such as "docker.io" or
// "127.0.0.1:5000") in the config at `path`, if any. A missing file means none; an unreadable or
// malformed one, or a failing helper, throws (InvalidInput/Unauthorized) naming the file.
std::optional<Credentials> load_docker_credentials(const std::filesystem::path& path,
                                                   const std::string& domain);

// The keys docker may have stored `domain` under ("https://index.docker.io/v1/" for docker.io).
std::vector<std::string> docker_config_keys(const std::string& domain);

} // namespace oci2eif::registry
