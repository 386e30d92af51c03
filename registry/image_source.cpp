#include "registry/image_source.hpp"

#include "core/error.hpp"

namespace oci2eif::registry {

Bytes read_blob(ImageSource& source, const Descriptor& d, std::size_t limit) {
  if (d.size > limit) {
    throw Error(ErrorCode::Corrupt, source.name() + ": blob " + d.digest + " is " +
                                        std::to_string(d.size) + " bytes, more than the " +
                                        std::to_string(limit) + "-byte limit for " + d.media_type);
  }
  auto in = source.open_blob(d);
  Bytes out(static_cast<std::size_t>(d.size));
  read_exact(*in, out, source.name() + ": blob " + d.digest);
  drain(*in); // lets the verifier check the digest
  return out;
}

namespace {

constexpr int kMaxIndexDepth = 4;

ImageManifest manifest_of(ImageSource& source, const Descriptor& d, const Platform& platform,
                          std::string& digest, int depth) {
  const std::string what = source.name() + ": " +
                           (is_index_media_type(d.media_type) ? "index " : "manifest ") + d.digest;
  if (is_index_media_type(d.media_type)) {
    if (depth >= kMaxIndexDepth) {
      throw Error(ErrorCode::Corrupt,
                  what + ": indexes nested more than " + std::to_string(kMaxIndexDepth) + " deep");
    }
    const ImageIndex index = parse_index(read_blob(source, d, kMaxManifestSize), what);
    return manifest_of(source, select_platform(index, platform, what), platform, digest, depth + 1);
  }
  if (!is_manifest_media_type(d.media_type)) {
    parse_manifest({}, d.media_type, what); // throws a precise error for schema 1
    throw Error(ErrorCode::Unsupported,
                what + ": media type " + d.media_type + " is not an image manifest or index");
  }
  digest = d.digest;
  return parse_manifest(read_blob(source, d, kMaxManifestSize), d.media_type, what);
}

} // namespace

ResolvedImage resolve_image(ImageSource& source, const Platform& platform) {
  ResolvedImage out;
  out.source_name = source.name();
  const ImageRoot root = source.root();
  if (const auto* index = std::get_if<ImageIndex>(&root)) {
    const Descriptor& d = select_platform(*index, platform, source.name());
    out.manifest = manifest_of(source, d, platform, out.manifest_digest, 1);
  } else {
    out.root = std::get<Descriptor>(root);
    out.manifest = manifest_of(source, *out.root, platform, out.manifest_digest, 0);
  }
  const Descriptor& c = out.manifest.config;
  const std::string what = source.name() + ": config " + c.digest;
  out.config_digest = c.digest;
  out.config = parse_config(read_blob(source, c, kMaxConfigSize), what);
  if (!platform.matches(out.config.platform)) {
    throw Error(ErrorCode::NotFound,
                source.name() + " is an image for " + out.config.platform.to_string() + ", not " +
                    platform.to_string() + " (choose --platform or --arch to match)");
  }
  if (out.config.diff_ids.size() != out.manifest.layers.size()) {
    throw Error(ErrorCode::Corrupt, what + ": lists " + std::to_string(out.config.diff_ids.size()) +
                                        " diff_ids for " +
                                        std::to_string(out.manifest.layers.size()) + " layers");
  }
  return out;
}

ResolvedImage ImageSource::resolve(const Platform& platform) {
  return resolve_image(*this, platform);
}

} // namespace oci2eif::registry
