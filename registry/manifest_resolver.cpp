#include "registry/manifest_resolver.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "registry/manifest.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif::registry {
namespace {

const std::string kAccept = std::string(media_type::kOciIndex) + ", " + media_type::kOciManifest +
                            ", " + media_type::kDockerList + ", " + media_type::kDockerManifest;

std::string strip_params(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') {
    t.pop_back();
  }
  return t;
}

// The media type of a manifest answer: its Content-Type, else (some registries answer
// application/json) the type the document names. Unsupported for schema 1 or any other type.
std::string manifest_media_type(const HttpResponse& resp, const Bytes& body,
                                const std::string& what) {
  std::string type = strip_params(resp.header("content-type"));
  if (!is_index_media_type(type) && !is_manifest_media_type(type)) {
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) {
      type = j["mediaType"].get<std::string>();
    } else if (j.is_object() && j.value("schemaVersion", 0) == 1) {
      type = media_type::kDockerSchema1;
    }
  }
  if (type == media_type::kDockerSchema1 || type == media_type::kDockerSchema1Signed) {
    throw Error(ErrorCode::Unsupported,
                what + ": Docker schema 1 manifests are not supported (deprecated since 2017); "
                       "push the image again with a current docker, buildah or skopeo");
  }
  if (!is_index_media_type(type) && !is_manifest_media_type(type)) {
    throw Error(ErrorCode::Unsupported, what + ": unsupported manifest media type '" + type + "'");
  }
  return type;
}

// DigestMismatch unless the body hashes to the digest asked for (if `ref` is one) and to the
// Docker-Content-Digest the registry stated (if any).
void check_manifest_digest(const HttpResponse& resp, const Bytes& body, const std::string& ref,
                           const std::string& what) {
  const std::string digest = sha256_digest(body);
  if (ref.rfind("sha256:", 0) == 0 && digest != ref) {
    throw Error(ErrorCode::DigestMismatch,
                what + ": the registry sent a manifest whose digest is " + digest);
  }
  const std::string stated = resp.header("docker-content-digest");
  if (!stated.empty() && stated != digest) {
    throw Error(ErrorCode::DigestMismatch, what + ": Docker-Content-Digest says " + stated +
                                               " but the bytes hash to " + digest);
  }
}

} // namespace

ManifestResolver::ManifestResolver(const Reference& ref, const RegistryOptions& options,
                                   RegistryEndpoints& endpoints)
    : ref_(ref), opt_(options), endpoints_(endpoints) {
}

ImageRoot ManifestResolver::resolve() {
  const auto& [type, bytes] = fetch(ref_.manifest_ref());
  resolved_ = sha256_digest(bytes);
  endpoints_.log("resolved " + ref_.to_string() + " to " + resolved_ + " (" + type + ")");
  Descriptor d;
  d.media_type = type;
  d.digest = resolved_;
  d.size = bytes.size();
  return d;
}

std::pair<std::string, Bytes> ManifestResolver::fetch(const std::string& ref) {
  if (const auto it = manifests_.find(ref); it != manifests_.end()) {
    return it->second;
  }
  auto entry = endpoints_.with_fallback("manifest " + ref,
                                        [&](std::size_t i) { return fetch_from(i, ref); });
  manifests_[sha256_digest(entry.second)] = entry;
  return entry;
}

std::pair<std::string, Bytes> ManifestResolver::fetch_from(std::size_t index,
                                                           const std::string& ref) {
  Endpoint& ep = endpoints_[index];
  const std::string what = (ep.mirror ? ep.label : "registry " + ref_.domain) + ", repository " +
                           ref_.repository + ", manifest " + ref;
  HttpRequest req;
  req.url = ep.base + "/v2/" + ref_.repository + "/manifests/" + ref;
  req.headers.emplace_back("Accept", kAccept);
  req.timeout_ms = opt_.manifest_timeout_ms;
  req.interrupt = opt_.interrupt;
  HttpResponse resp;
  Bytes body = download(ep, req, what, resp);
  std::string type = manifest_media_type(resp, body, what);
  check_manifest_digest(resp, body, ref, what);
  if (ep.mirror) {
    endpoints_.log("manifest " + ref + " from " + ep.label);
  }
  return {type, std::move(body)};
}

Bytes ManifestResolver::download(Endpoint& ep, const HttpRequest& req, const std::string& what,
                                 HttpResponse& resp) {
  Bytes body;
  const int tries = endpoints_.attempts(ep);
  for (int n = 1;; ++n) {
    body.clear();
    try {
      resp = endpoints_.exchange(ep, *ep.http, req, [&](ByteView c) {
        if (body.size() + c.size() > kMaxManifestSize) {
          throw Error(ErrorCode::Corrupt, what + ": larger than the " +
                                              std::to_string(kMaxManifestSize) +
                                              "-byte manifest limit");
        }
        body.insert(body.end(), c.begin(), c.end());
      });
    } catch (const TransportError& e) {
      if (!e.retryable() || n >= tries) {
        throw Error(e.code(), what + ": " + e.what());
      }
      endpoints_.log(what + ": " + e.what() + "; retrying");
      endpoints_.pause(endpoints_.delay_ms(n, nullptr));
      continue;
    }
    if (retryable_status(resp.status) && n < tries) {
      endpoints_.log(what + ": HTTP " + std::to_string(resp.status) + "; retrying");
      endpoints_.pause(endpoints_.delay_ms(n, &resp));
      continue;
    }
    if (resp.status != 200) {
      endpoints_.status_error(ep, what, resp, n);
    }
    return body;
  }
}

} // namespace oci2eif::registry
