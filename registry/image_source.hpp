// Where an image comes from: a local OCI layout, an oci-archive or docker-archive tarball, or a
// registry (registry_source.hpp). Every source hands out blobs by descriptor, verified against
// digest and size while they stream; resolve_image() walks index → manifest → config the same way
// for all.
#pragma once

#include "core/bytes.hpp"
#include "core/interrupt.hpp"
#include "registry/local_files.hpp"
#include "registry/manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace oci2eif::registry {

// What a reference points at: one manifest (or index) descriptor, or an index held by the
// source itself (an OCI layout's index.json listing one manifest per platform).
using ImageRoot = std::variant<Descriptor, ImageIndex>;

// How a source obtained one blob, for the build log.
struct BlobFetch {
  bool from_cache = false;      // a verified copy was already in the blob cache
  std::uint64_t downloaded = 0; // bytes received for it over the network
};

class ImageSource {
public:
  virtual ~ImageSource() = default;
  // For messages and the EIF metadata, e.g. "oci-layout:/images/app:latest".
  virtual std::string name() const = 0;
  virtual ImageRoot root() = 0;
  // The blob's bytes, checked against the descriptor's digest and size as they are read:
  // the source fails with DigestMismatch at the end if they differ.
  virtual std::unique_ptr<ByteSource> open_blob(const Descriptor& descriptor) = 0;
  // The image for `platform`; by default resolve_image(*this, platform).
  virtual struct ResolvedImage resolve(const Platform& platform);
  // Brings the layers' blobs where open_blob() reads them without waiting (a registry downloads
  // those its cache lacks, several at a time), so that pulling and flattening are separate
  // steps. Local sources have nothing to do.
  virtual void fetch_layers(const std::vector<Descriptor>& layers) { (void)layers; }
  // As fetch_layers(), but may return before the layers are local, the rest arriving while
  // they are applied: open_blob() of a layer still downloading then reads it as it arrives.
  virtual void start_fetching_layers(const std::vector<Descriptor>& layers) {
    fetch_layers(layers);
  }
  // The build reading this source failed on its own: blobs opened while still arriving stop
  // waiting for bytes and throw Cancelled, and downloads behind the build stop, so that the
  // build's error is reported now rather than once the network gives up. Local sources never
  // wait.
  virtual void stop_reading() {}
  // How blob `digest` was obtained; nothing if the source reads blobs in place (local sources)
  // or has not needed that blob yet.
  virtual std::optional<BlobFetch> blob_fetch(const std::string& digest) const {
    (void)digest;
    return std::nullopt;
  }
};

// Reads a small blob (manifest, config) fully, verified, refusing more than `limit` bytes.
Bytes read_blob(ImageSource& source, const Descriptor& descriptor, std::size_t limit);

struct ResolvedImage {
  std::string source_name;
  // What the reference resolved to when the source names it by descriptor (a registry's tag or
  // digest: the manifest, or the index the platform's manifest was chosen from); nothing for an
  // index the source holds itself (an OCI layout's index.json).
  std::optional<Descriptor> root;
  std::string manifest_digest;
  ImageManifest manifest;
  std::string config_digest;
  ImageConfig config;
};

// Resolves the source's root to one image for `platform`, checking that the config agrees with
// the platform and lists one diff_id per layer.
ResolvedImage resolve_image(ImageSource& source, const Platform& platform);

// OCI image layout directory; `tag` may be empty when the layout holds one image. Its files are
// opened through `files` (local_files.hpp: as given, or only beneath an allowed directory).
std::unique_ptr<ImageSource> open_oci_layout(const LocalFiles& files,
                                             const std::filesystem::path& dir, std::string tag);
// oci-archive / docker-archive tarballs (opened through `files`), unpacked (names checked,
// nothing outside `scratch`) into `scratch`, which must be an empty directory owned by the build.
// `interrupt` is consulted while unpacking (every few MiB), so a large archive can be stopped.
std::unique_ptr<ImageSource> open_oci_archive(const LocalFiles& files,
                                              const std::filesystem::path& archive, std::string tag,
                                              const std::filesystem::path& scratch,
                                              const Interrupt& interrupt = {});
std::unique_ptr<ImageSource>
open_docker_archive(const LocalFiles& files, const std::filesystem::path& archive, std::string tag,
                    const std::filesystem::path& scratch, const Interrupt& interrupt = {});

} // namespace oci2eif::registry
