// How a local image location (`oci-layout:`, `oci-archive:`, `docker-archive:` and their CLI
// flags) names a file and an image in it, as users write it after `podman save` or
// `docker save`:
//
//   PATH[:REFERENCE]   e.g. app.tar:localhost/pyapp:1, app.tar:pyapp:1, app.tar:1, layout:latest
//
// The path ends at the first ':', as skopeo's transports split it (containers/image
// docker/archive ParseReference, oci/internal SplitPathAndImage), except that a path that exists
// wins: the whole location if it exists, else the shortest prefix before a ':' that exists (so
// a path with a ':' in it still works).
//
// The reference selects an image by the names the archive records: docker-archive's RepoTags
// ("localhost/pyapp:1" from podman, "pyapp:1" from docker), an OCI index's
// org.opencontainers.image.ref.name ("localhost/pyapp:1" from podman, the bare tag "1" from
// docker 25+) and io.containerd.image.name ("docker.io/library/pyapp:1", docker 25+). Unlike
// skopeo, which takes the first match silently, a reference that names two different images is
// refused, listing them.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace oci2eif::registry {

struct ArchiveLocation {
  std::filesystem::path path;
  std::string reference; // "" = none given
};

ArchiveLocation split_archive_location(const std::string& location);

// One image of an archive: `id` tells images apart (a manifest digest, a config file), `names`
// are what the archive calls it.
struct NamedImage {
  std::string id;
  std::vector<std::string> names;
};

// The indices of the images `wanted` names, by the first rule that matches any:
//   1. a name equal to `wanted`;
//   2. the same image name once both are normalised as Docker does (pyapp:1 is
//      docker.io/library/pyapp:1, no tag is :latest; names that are only a tag are skipped);
//   3. for a name without a registry host ("pyapp:1", "pyapp", "team/app"), every image whose name
//   is
//      that name under some host ("localhost/pyapp:1", "quay.io/team/app:latest"), as podman
//      finds local images by short name (`podman build -t pyapp:1` stores localhost/pyapp:1);
//   4. for a single word ("1"), every image with that tag: a name that is only the tag, or a
//      full name with it.
std::vector<std::size_t> images_named(const std::string& wanted,
                                      const std::vector<NamedImage>& images);

// The one image `wanted` names, for `subject` (e.g. "docker-archive:app.tar:1"): throws
// NotFound listing every name when none matches, InvalidInput listing the candidates when
// different images match.
std::size_t image_named(const std::string& wanted, const std::vector<NamedImage>& images,
                        const std::string& subject);

} // namespace oci2eif::registry
