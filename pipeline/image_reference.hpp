// The `image` string of a build request mapped to an
// image source. The one place that knows the prefixes, so the registry kind plugs in here:
//
//   oci-layout:DIR[:TAG]      an OCI image layout directory
//   oci-archive:FILE[:TAG]    a tar of an OCI image layout
//   docker-archive:FILE[:TAG] `docker save` output
//   anything else             a registry reference (docker.io/library/busybox:latest, ...)
#pragma once

#include "registry/registry_source.hpp"

#include <filesystem>
#include <string>

namespace oci2eif::pipeline {

enum class SourceKind { OciLayout, OciArchive, DockerArchive, Registry };

struct ImageRef {
  SourceKind kind = SourceKind::OciLayout;
  std::string location;              // DIR[:TAG], FILE[:TAG], or an image reference
  registry::RegistryOptions options; // for SourceKind::Registry
  // For SourceKind::Registry: fetch this digest (of the index or manifest the tag named
  // earlier) instead of resolving the tag again. "" = resolve the tag.
  std::string pinned_digest;
  // For the local kinds: read the image only beneath this directory (registry::LocalFiles);
  // "" = as given (the CLI; the daemon sets the allowed directory the path lies below).
  std::filesystem::path local_root;
};

// Throws InvalidInput for an empty location or a malformed reference, naming the string and
// the accepted forms.
ImageRef parse_image_reference(const std::string& image);

// The `image` string that parse_image_reference() maps to `ref` (prefix and location).
std::string image_reference_text(const ImageRef& ref);

} // namespace oci2eif::pipeline
