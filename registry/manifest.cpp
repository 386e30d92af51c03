#include "registry/manifest.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif::registry {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what, const std::string& why) {
  throw Error(ErrorCode::Corrupt, what + ": " + why);
}

json parse_json(ByteView bytes, std::size_t limit, const std::string& what) {
  if (bytes.size() > limit) {
    bad(what, "is " + std::to_string(bytes.size()) + " bytes, more than the " +
                  std::to_string(limit) + "-byte limit");
  }
  json doc = parse_json_bounded(as_chars(bytes), what);
  if (!doc.is_object()) {
    bad(what, "is not a JSON object");
  }
  return doc;
}

std::string string_field(const json& obj, const char* key, const std::string& what, bool required) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) {
      bad(what, std::string("lacks \"") + key + "\"");
    }
    return "";
  }
  if (!it->is_string()) {
    bad(what, std::string("\"") + key + "\" must be a string");
  }
  return it->get<std::string>();
}

std::vector<std::string> string_list(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return {};
  }
  if (!it->is_array()) {
    bad(what, std::string("\"") + key + "\" must be an array of strings");
  }
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) {
      bad(what, std::string("\"") + key + "\" must be an array of strings");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Descriptor descriptor(const json& d, const std::string& what) {
  if (!d.is_object()) {
    bad(what, "has a descriptor that is not an object");
  }
  Descriptor out;
  out.media_type = string_field(d, "mediaType", what, true);
  out.digest = string_field(d, "digest", what, true);
  try {
    validate_digest(out.digest, what);
  } catch (const Error& e) {
    bad(what, std::string("bad descriptor: ") + e.what());
  }
  const auto size = d.find("size");
  if (size == d.end() || !size->is_number_unsigned()) {
    bad(what, "descriptor " + out.digest + " lacks a non-negative integer \"size\"");
  }
  out.size = size->get<std::uint64_t>();
  if (const auto p = d.find("platform"); p != d.end() && p->is_object()) {
    Platform platform;
    platform.os = string_field(*p, "os", what, true);
    platform.architecture = string_field(*p, "architecture", what, true);
    platform.variant = string_field(*p, "variant", what, false);
    out.platform = platform;
  }
  if (const auto a = d.find("annotations"); a != d.end() && a->is_object()) {
    for (const auto& [k, v] : a->items()) {
      if (v.is_string()) {
        out.annotations[k] = v.get<std::string>();
      }
    }
  }
  return out;
}

void check_declared_type(const json& doc, const std::string& expected, const std::string& what) {
  const std::string declared = string_field(doc, "mediaType", what, false);
  if (!declared.empty() && declared != expected) {
    bad(what, "declares mediaType " + declared + " but was served as " + expected);
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
  const auto m = doc.find("manifests");
  if (m == doc.end() || !m->is_array()) {
    bad(what, "lacks a \"manifests\" array");
  }
  ImageIndex index;
  for (const auto& d : *m) {
    index.manifests.push_back(descriptor(d, what));
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
  check_declared_type(doc, type, what);
  const auto schema = doc.find("schemaVersion");
  if (schema == doc.end() || !schema->is_number_integer() || schema->get<int>() != 2) {
    bad(what, "must have schemaVersion 2");
  }
  const auto config = doc.find("config");
  const auto layers = doc.find("layers");
  if (config == doc.end() || layers == doc.end() || !layers->is_array()) {
    bad(what, "lacks \"config\" or \"layers\"");
  }
  ImageManifest out;
  out.media_type = type;
  out.config = descriptor(*config, what);
  for (const auto& l : *layers) {
    out.layers.push_back(descriptor(l, what));
  }
  return out;
}

ImageConfig parse_config(ByteView bytes, const std::string& what) {
  const json doc = parse_json(bytes, kMaxConfigSize, what);
  ImageConfig out;
  out.platform.os = string_field(doc, "os", what, true);
  out.platform.architecture = string_field(doc, "architecture", what, true);
  out.platform.variant = string_field(doc, "variant", what, false);
  if (const auto c = doc.find("config"); c != doc.end() && c->is_object()) {
    out.entrypoint = string_list(*c, "Entrypoint", what + " config");
    out.cmd = string_list(*c, "Cmd", what + " config");
    out.env = string_list(*c, "Env", what + " config");
    out.working_dir = string_field(*c, "WorkingDir", what + " config", false);
    out.user = string_field(*c, "User", what + " config", false);
  }
  const auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || !rootfs->is_object()) {
    bad(what, "lacks \"rootfs\"");
  }
  out.diff_ids = string_list(*rootfs, "diff_ids", what + " rootfs");
  for (const std::string& d : out.diff_ids) {
    try {
      validate_digest(d, what);
    } catch (const Error& e) {
      bad(what, std::string("bad diff_id: ") + e.what());
    }
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
