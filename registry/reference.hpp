// Image references as Docker parses and normalises them:
//
//   reference := [domain '/'] path [':' tag] ['@' digest]
//   domain    := host [':' port]      host: DNS name, "localhost", or an IPv6 literal in []
//   path      := component ('/' component)*   component: [a-z0-9]+ (separator [a-z0-9]+)*
//                                             separator: '.', '_', '__' or '-'+
//   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest    := "sha256:" 64 lower-case hex
//
// The first path element is a domain only if it contains '.' or ':', is "localhost", or starts
// with '['; otherwise the domain is docker.io. On docker.io a one-element path gets "library/".
// Without tag or digest the tag is "latest". docker.io's API is served by registry-1.docker.io.
#pragma once

#include <string>
#include <string_view>

namespace oci2eif::registry {

struct Reference {
  std::string domain;     // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string repository; // "library/busybox"
  std::string tag;        // empty when only a digest was given
  std::string digest;     // "sha256:…" or empty

  // Parses and normalises `text`; throws InvalidInput saying what is wrong.
  static Reference parse(std::string_view text);

  // The host[:port] to connect to ("registry-1.docker.io" for docker.io).
  std::string api_host() const;
  // The host without port or brackets, e.g. "::1", "127.0.0.1", "localhost".
  std::string host_name() const;
  // Whether the host is a loopback address or "localhost" (plain HTTP allowed, as Docker does).
  bool is_loopback() const;
  // What to ask the registry for: the digest if pinned, else the tag.
  std::string manifest_ref() const { return digest.empty() ? tag : digest; }
  // "docker.io/library/busybox:latest", "host/repo@sha256:…", "host/repo:tag@sha256:…".
  std::string to_string() const;
};

} // namespace oci2eif::registry
