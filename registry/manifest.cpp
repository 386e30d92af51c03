#include "registry/manifest.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/json_fields.hpp"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

namespace oci2eif::registry {
namespace {

using nlohmann::json;

// A document from a registry: over `limit` bytes or not a JSON object is Corrupt.
json parse_json(ByteView bytes, std::size_t limit, const std::string& what) {
  if (bytes.size() > limit) {
    throw Error(ErrorCode::Corrupt, what + ": is " + std::to_string(bytes.size()) +
                                        " bytes, more than the " + std::to_string(limit) +
                                        "-byte limit");
  }
  return parse_json_object(as_chars(bytes), what, ErrorCode::Corrupt);
}

// validate_digest's refusal, as Corrupt: the registry served it.
void check_digest(const JsonField& field, const std::string& digest) {
  try {
    validate_digest(digest, field.subject());
  } catch (const Error& e) {
    throw Error(ErrorCode::Corrupt, e.what());
  }
}

Descriptor descriptor(const JsonField& d) {
  d.object();
  Descriptor out;
  out.media_type = d["mediaType"].string();
  out.digest = d["digest"].string();
  check_digest(d["digest"], out.digest);
  out.size = d["size"].whole_number(0, std::numeric_limits<std::uint64_t>::max());
  if (const JsonField p = d["platform"]; p.present() && p.value().is_object()) {
    Platform platform;
    platform.os = p["os"].string();
    platform.architecture = p["architecture"].string();
    platform.variant = p["variant"].optional_string().value_or("");
    out.platform = platform;
  }
  if (const JsonField a = d["annotations"]; a.present() && a.value().is_object()) {
    for (const auto& [k, v] : a.value().items()) {
      if (v.is_string()) {
        out.annotations[k] = v.get<std::string>();
      }
    }
  }
  return out;
}

void check_declared_type(const JsonField& doc, const std::string& expected) {
  const std::string declared = doc["mediaType"].optional_string().value_or("");
  if (!declared.empty() && declared != expected) {
    doc.fail("declares mediaType " + declared + " but was served as " + expected);
  }
}

} // namespace

bool is_index_media_type(const std::string& t) {
  return t == media_type::kOciIndex || t == media_type::kDockerList;
}

bool is_manifest_media_type(const std::string& t) {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest;
}

Compression layer_compression(const std::string& t, const std::string& layer) {
  if (t == "application/vnd.oci.image.layer.v1.tar" || t == media_type::kDockerLayerTar) {
    return Compression::None;
  }
  if (t == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      t == "application/vnd.docker.image.rootfs.diff.tar.gzip") {
    return Compression::Gzip;
  }
  if (t == "application/vnd.oci.image.layer.v1.tar+zstd" ||
      t == "application/vnd.docker.image.rootfs.diff.tar.zstd") {
    return Compression::Zstd;
  }
  throw Error(ErrorCode::Unsupported, layer + ": layer media type " + t +
                                          " is not supported (expected an OCI or Docker tar, "
                                          "tar+gzip or tar+zstd layer)");
}

ImageIndex parse_index(ByteView bytes, const std::string& what) {
  const json doc = parse_json(bytes, kMaxManifestSize, what);
  ImageIndex index;
  for (const JsonField& d : JsonField(doc, what, ErrorCode::Corrupt)["manifests"].elements()) {
    index.manifests.push_back(descriptor(d));
  }
  return index;
}

ImageManifest parse_manifest(ByteView bytes, const std::string& type, const std::string& what) {
  if (type == media_type::kDockerSchema1 || type == media_type::kDockerSchema1Signed) {
    throw Error(ErrorCode::Unsupported,
                what + ": Docker schema 1 manifests are not supported (deprecated since 2017); "
                       "push the image again with a current client to get schema 2 or OCI");
  }
  const json doc = parse_json(bytes, kMaxManifestSize, what);
  const JsonField top(doc, what, ErrorCode::Corrupt);
  check_declared_type(top, type);
  top["schemaVersion"].whole_number(2, 2);
  ImageManifest out;
  out.media_type = type;
  out.config = descriptor(top["config"]);
  for (const JsonField& l : top["layers"].elements()) {
    out.layers.push_back(descriptor(l));
  }
  return out;
}

ImageConfig parse_config(ByteView bytes, const std::string& what) {
  const json doc = parse_json(bytes, kMaxConfigSize, what);
  const JsonField top(doc, what, ErrorCode::Corrupt);
  ImageConfig out;
  out.platform.os = top["os"].string();
  out.platform.architecture = top["architecture"].string();
  out.platform.variant = top["variant"].optional_string().value_or("");
  // Images built FROM scratch with no settings may have no "config" at all.
  if (const JsonField c = top["config"]; c.present() && c.value().is_object()) {
    out.entrypoint = c["Entrypoint"].optional_strings();
    out.cmd = c["Cmd"].optional_strings();
    out.env = c["Env"].optional_strings();
    out.working_dir = c["WorkingDir"].optional_string().value_or("");
    out.user = c["User"].optional_string().value_or("");
  }
  const JsonField diff_ids = top["rootfs"].object()["diff_ids"];
  out.diff_ids = diff_ids.optional_strings();
  for (std::size_t i = 0; i < out.diff_ids.size(); ++i) {
    check_digest(diff_ids[i], out.diff_ids[i]);
  }
  return out;
}

const Descriptor& select_platform(const ImageIndex& index, const Platform& wanted,
                                  const std::string& what) {
  std::string available;
  for (const Descriptor& d : index.manifests) {
    if (d.platform && wanted.matches(*d.platform)) {
      return d;
    }
    if (d.platform) {
      available += (available.empty() ? "" : ", ") + d.platform->to_string();
    }
  }
  throw Error(ErrorCode::NotFound, what + " has no image for platform " + wanted.to_string() +
                                       "; it has: " + (available.empty() ? "none" : available));
}

} // namespace oci2eif::registry
