#include "registry/registry_pusher.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"

#include <memory>

namespace oci2eif::registry {
namespace {

// Writes go to the origin only, and reads of the fallback index must see the origin's latest.
RegistryOptions origin_only(RegistryOptions options) {
  options.mirrors.clear();
  return options;
}

// The fallback tag's index with `referrer` added; stored unless it listed it already.
void update_fallback_tag(RegistryPusher& pusher, const std::string& subject_digest,
                         const Referrer& referrer) {
  const std::string tag = referrers_tag(subject_digest);
  const auto existing = pusher.find_manifest(tag);
  const std::string index =
      existing ? std::string(as_chars(existing->second)) : empty_referrers_index();
  const auto updated = add_referrer(index, referrer, pusher.where() + ", referrers tag " + tag);
  if (updated) {
    pusher.put_manifest(tag, media_type::kOciIndex, *updated);
  }
}

} // namespace

StreamedBody file_body(const std::filesystem::path& path, std::uint64_t size) {
  return {[path] { return std::make_unique<FileSource>(path); }, size};
}

StreamedBody memory_body(std::string bytes) {
  const auto kept = std::make_shared<const std::string>(std::move(bytes));
  return {[kept] { return std::make_unique<MemorySource>(as_bytes(*kept), "blob"); }, kept->size()};
}

RegistryPusher::RegistryPusher(const Reference& ref, RegistryOptions options)
    : ref_(ref), opt_(origin_only(std::move(options))), endpoints_(ref_, opt_),
      manifests_(ref_, opt_, endpoints_) {
}

std::string RegistryPusher::where() const {
  return "registry " + ref_.domain + ", repository " + ref_.repository;
}

std::string RegistryPusher::url(const std::string& path) const {
  return "/v2/" + ref_.repository + path;
}

HttpResponse RegistryPusher::send(const HttpRequest& req, const std::string& what,
                                  std::string* body) {
  Endpoint& ep = endpoints_[endpoints_.size() - 1];
  const int tries = endpoints_.attempts(ep);
  for (int n = 1;; ++n) {
    std::string received;
    try {
      const HttpResponse r = endpoints_.exchange(ep, *ep.http, req, [&](ByteView chunk) {
        if (received.size() + chunk.size() > kMaxManifestSize) {
          throw Error(ErrorCode::Corrupt,
                      what + ": answer larger than " + std::to_string(kMaxManifestSize) + " bytes");
        }
        received.append(as_chars(chunk));
      });
      if (retryable_status(r.status) && n < tries) {
        endpoints_.log(what + ": HTTP " + std::to_string(r.status) + "; retrying");
        endpoints_.pause(endpoints_.delay_ms(n, &r));
        continue;
      }
      if (body != nullptr) {
        *body = std::move(received);
      }
      return r;
    } catch (const TransportError& e) {
      if (!e.retryable() || n >= tries) {
        throw Error(e.code(), what + ": " + e.what());
      }
      endpoints_.log(what + ": " + e.what() + "; retrying");
      endpoints_.pause(endpoints_.delay_ms(n, nullptr));
    }
  }
}

bool RegistryPusher::has_blob(const std::string& digest) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = endpoints_[endpoints_.size() - 1].base + url("/blobs/" + digest);
  req.timeout_ms = opt_.manifest_timeout_ms;
  req.interrupt = opt_.interrupt;
  const std::string what = where() + ", blob " + digest;
  const HttpResponse r = send(req, what, nullptr);
  if (r.status == 200) {
    return true;
  }
  if (r.status == 404) {
    return false;
  }
  endpoints_.status_error(endpoints_[endpoints_.size() - 1], what, r, 1);
}

bool RegistryPusher::ensure_blob(const Descriptor& d, const StreamedBody& body) {
  if (has_blob(d.digest)) {
    return false;
  }
  Endpoint& ep = endpoints_[endpoints_.size() - 1];
  const std::string what = where() + ", upload of blob " + d.digest;
  HttpRequest start;
  start.method = "POST";
  start.url = ep.base + url("/blobs/uploads/");
  start.timeout_ms = opt_.manifest_timeout_ms;
  start.interrupt = opt_.interrupt;
  const HttpResponse started = send(start, what, nullptr);
  if (started.status != 202 || started.header("location").empty()) {
    endpoints_.status_error(ep, what, started, 1);
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = resolve_location(start.url, started.header("location"));
  put.url += (put.url.find('?') == std::string::npos ? "?" : "&") +
             std::string("digest=sha256%3A") + d.digest.substr(7);
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  put.upload = body;
  put.timeout_ms = opt_.blob_timeout_ms;
  put.interrupt = opt_.interrupt;
  const HttpResponse stored = send(put, what, nullptr);
  if (stored.status != 201) {
    endpoints_.status_error(ep, what, stored, 1);
  }
  endpoints_.log("uploaded blob " + d.digest + " (" + std::to_string(d.size) + " bytes)");
  return true;
}

void RegistryPusher::put_manifest(const std::string& ref, const std::string& media_type,
                                  const std::string& bytes) {
  Endpoint& ep = endpoints_[endpoints_.size() - 1];
  const std::string digest = sha256_digest(as_bytes(bytes));
  const std::string what = where() + ", manifest " + ref;
  HttpRequest req;
  req.method = "PUT";
  req.url = ep.base + url("/manifests/" + ref);
  req.headers.emplace_back("Content-Type", media_type);
  req.body = bytes;
  req.timeout_ms = opt_.manifest_timeout_ms;
  req.interrupt = opt_.interrupt;
  const HttpResponse r = send(req, what, nullptr);
  if (r.status != 201 && r.status != 200) {
    endpoints_.status_error(ep, what, r, 1);
  }
  const std::string stored = r.header("docker-content-digest");
  if (!stored.empty() && stored != digest) {
    throw Error(ErrorCode::DigestMismatch,
                what + ": the registry stored " + stored + ", not " + digest + " as sent");
  }
}

std::optional<std::pair<std::string, Bytes>> RegistryPusher::find_manifest(const std::string& ref) {
  try {
    return manifests_.fetch(ref);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::NotFound) {
      return std::nullopt;
    }
    throw;
  }
}

std::optional<Bytes> RegistryPusher::referrers_api(const std::string& digest) {
  validate_digest(digest, where() + ", referrers of");
  Endpoint& ep = endpoints_[endpoints_.size() - 1];
  const std::string what = where() + ", referrers of " + digest;
  HttpRequest req;
  req.url = ep.base + url("/referrers/" + digest);
  req.headers.emplace_back("Accept", media_type::kOciIndex);
  req.timeout_ms = opt_.manifest_timeout_ms;
  req.interrupt = opt_.interrupt;
  std::string body;
  const HttpResponse r = send(req, what, &body);
  // 404: a registry before distribution 1.1 (the fallback tag is then the way); a 200 that is
  // not an index is a registry answering some other page, which is no referrers API either.
  if (r.status == 404 ||
      (r.status == 200 && r.header("content-type").rfind(media_type::kOciIndex, 0) != 0)) {
    return std::nullopt;
  }
  if (r.status != 200) {
    endpoints_.status_error(ep, what, r, 1);
  }
  const ByteView bytes = as_bytes(body);
  return Bytes(bytes.begin(), bytes.end());
}

PushedArtifact push_artifact(const Reference& ref, const RegistryOptions& options,
                             const Artifact& artifact, const StreamedBody& layer) {
  RegistryOptions push_options = options;
  push_options.push = true;
  RegistryPusher pusher(ref, push_options);
  PushedArtifact out;
  Descriptor empty{eif_artifact::kEmptyType, eif_artifact::kEmptyDigest, 2, {}, {}};
  out.blobs_uploaded += pusher.ensure_blob(empty, memory_body(eif_artifact::kEmptyBlob)) ? 1 : 0;
  out.blobs_uploaded += pusher.ensure_blob(artifact.layer, layer) ? 1 : 0;
  const std::string manifest = artifact_manifest_json(artifact);
  out.digest = sha256_digest(as_bytes(manifest));
  out.size = manifest.size();
  const bool named = !ref.tag.empty() || !ref.digest.empty();
  pusher.put_manifest(named ? ref.manifest_ref() : out.digest, media_type::kOciManifest, manifest);
  if (!artifact.subject) {
    return out;
  }
  out.referrers_api = pusher.referrers_api(artifact.subject->digest).has_value();
  if (!out.referrers_api) {
    update_fallback_tag(pusher, artifact.subject->digest,
                        {media_type::kOciManifest, out.digest, out.size, artifact.artifact_type,
                         artifact.annotations});
  }
  return out;
}

std::vector<Referrer> artifact_referrers(const Reference& ref, const RegistryOptions& options,
                                         const std::string& subject_digest,
                                         const std::string& artifact_type) {
  RegistryPusher reader(ref, options);
  const std::string what = reader.where() + ", referrers of " + subject_digest;
  if (const auto api = reader.referrers_api(subject_digest)) {
    return parse_referrers(*api, artifact_type, what);
  }
  if (const auto index = reader.find_manifest(referrers_tag(subject_digest))) {
    return parse_referrers(index->second, artifact_type, what);
  }
  return {};
}

} // namespace oci2eif::registry
