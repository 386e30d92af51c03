// Which local images an API request may name. `oci2eif build` reads any path its user gives;
// the daemon reads paths on behalf of remote callers, so an oci-layout:, oci-archive: or
// docker-archive: image must lie below a directory the operator listed (`local_images`).
// The path is resolved (symlinks, `..`) before the test, so a link in the request's path cannot
// lead outside. Files inside an image directory are then opened by name: whoever can write
// below an allowed directory can point them elsewhere, so those directories must be writable
// only by people trusted with what the daemon can read.
#pragma once

#include "pipeline/build_pipeline.hpp"

#include <filesystem>
#include <vector>

namespace oci2eif::server {

// Throws InvalidInput (naming the image and the allowed directories) unless `image` is a
// registry reference or its path resolves below one of `roots` (canonical, absolute).
void check_local_image_allowed(const pipeline::ImageRef& image,
                               const std::vector<std::filesystem::path>& roots);

} // namespace oci2eif::server
