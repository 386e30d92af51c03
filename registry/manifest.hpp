// The OCI image index, image manifest and image config documents (and their Docker schema2
// equivalents), parsed strictly from untrusted bytes. Shared by the local image sources and the
// registry client.
#pragma once

#include "core/bytes.hpp"
#include "core/tar_reader.hpp"
#include "registry/platform.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif::registry {

inline constexpr std::size_t kMaxManifestSize = 4 << 20;
inline constexpr std::size_t kMaxConfigSize = 8 << 20;

namespace media_type {
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr const char* kDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";
} // namespace media_type

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

bool is_index_media_type(const std::string& media_type);
bool is_manifest_media_type(const std::string& media_type);

// The compression of a layer media type (OCI or Docker names). Throws Unsupported for
// non-layer or unknown types, naming `layer`.
Compression layer_compression(const std::string& media_type, const std::string& layer);

struct ImageIndex {
  std::vector<Descriptor> manifests;
};

struct ImageManifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageConfig {
  Platform platform;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string working_dir;
  std::string user;
  std::vector<std::string> diff_ids;
};

// Parsers for untrusted JSON. `what` names the document in errors ("manifest sha256:ab…").
// The media type comes from the descriptor (or the HTTP Content-Type); when the document states
// its own mediaType the two must agree.
ImageIndex parse_index(ByteView json, const std::string& what);
ImageManifest parse_manifest(ByteView json, const std::string& media_type, const std::string& what);
ImageConfig parse_config(ByteView json, const std::string& what);

// Picks the manifest for `wanted` from an index; throws NotFound listing what the index has.
const Descriptor& select_platform(const ImageIndex& index, const Platform& wanted,
                                  const std::string& what);

} // namespace oci2eif::registry
