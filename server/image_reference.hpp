// The `image` string of a build request (and, later, of `oci2eif build --image`) mapped to an
// image source. The one place that knows the prefixes, so the registry kind plugs in here:
//
//   oci-layout:DIR[:TAG]      an OCI image layout directory
//   oci-archive:FILE[:TAG]    a tar of an OCI image layout
//   docker-archive:FILE[:TAG] `docker save` output
//   anything else             a registry reference (docker.io/library/busybox:latest, ...)
#pragma once

#include "server/build_pipeline.hpp"

#include <string>

namespace oci2eif::server {

// Throws InvalidInput for an empty location or a malformed reference, naming the string and
// the accepted forms.
ImageRef parse_image_reference(const std::string& image);

} // namespace oci2eif::server
