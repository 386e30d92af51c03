// Which local images an API request may name. `oci2eif build` reads any path its user gives;
// the daemon reads paths on behalf of remote callers, so an oci-layout:, oci-archive: or
// docker-archive: image must lie below a directory the operator listed (`local_images`).
// The request's path must name the image below that directory as written (no `..` out, no
// /proc/PID/root detour), and every file of the image is then opened beneath a handle of that
// directory (registry::LocalFiles), so no link planted below it can lead outside either.
#pragma once

#include "pipeline/build_pipeline.hpp"

#include <filesystem>
#include <vector>

namespace oci2eif::server {

// The allowed directory (one of `roots`, absolute) the local `image` lies below; "" for a
// registry reference. Throws InvalidInput, naming the image and the allowed directories, if
// there is none, or if the path already leads outside it (an existing link); a path that does
// not exist yet passes, and fails when the worker opens it.
std::filesystem::path allowed_local_root(const pipeline::ImageRef& image,
                                         const std::vector<std::filesystem::path>& roots);

} // namespace oci2eif::server
