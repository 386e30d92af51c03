#include "registry/registry_source.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "registry/blob_transfer.hpp"
#include "registry/manifest_resolver.hpp"
#include "registry/registry_endpoints.hpp"

#include <algorithm>

namespace oci2eif::registry {
namespace {

// Owns bytes and a verifying reader over them.
class VerifiedBytes final : public ByteSource {
public:
  VerifiedBytes(Bytes data, const Descriptor& d, const std::string& subject)
      : data_(std::move(data)), mem_(data_, subject), verify_(mem_, d.digest, d.size, subject) {}
  std::uint64_t size() const override { return verify_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override { return verify_.read(out); }
  std::string describe() const override { return verify_.describe(); }

private:
  Bytes data_;
  MemorySource mem_;
  VerifyingSource verify_;
};

// The ImageSource for a registry: manifests from ManifestResolver, blobs from BlobTransfer, both
// asking through the same endpoints (mirrors, credentials, retry policy).
class Registry final : public RegistrySource {
public:
  Registry(Reference ref, RegistryOptions options)
      : ref_(std::move(ref)), opt_(std::move(options)), endpoints_(ref_, opt_),
        manifests_(ref_, opt_, endpoints_), blobs_(ref_, opt_, endpoints_) {}

  std::string name() const override { return ref_.to_string(); }
  const Reference& reference() const override { return ref_; }
  std::string resolved_digest() const override { return manifests_.resolved_digest(); }

  ImageRoot root() override { return manifests_.resolve(); }

  void fetch_layers(const std::vector<Descriptor>& layers) override { blobs_.fetch_layers(layers); }
  void start_fetching_layers(const std::vector<Descriptor>& layers) override {
    blobs_.start_fetching_layers(layers);
  }
  void stop_reading() override { blobs_.stop_reading(); }

  std::optional<BlobFetch> blob_fetch(const std::string& digest) const override {
    return blobs_.fetch_record(digest);
  }

  std::unique_ptr<ByteSource> open_blob(const Descriptor& d) override {
    const std::string subject = blobs_.subject(d.digest);
    if (is_index_media_type(d.media_type) || is_manifest_media_type(d.media_type) ||
        d.media_type == media_type::kDockerSchema1 ||
        d.media_type == media_type::kDockerSchema1Signed) {
      auto [type, bytes] = manifest_bytes(d.digest);
      return std::make_unique<VerifiedBytes>(std::move(bytes), d, subject);
    }
    if (auto arriving = blobs_.open_arriving(d)) {
      return arriving; // a layer still downloading: applied as it arrives
    }
    return std::make_unique<VerifiedFileSource>(blob_file(d), d.digest, d.size, subject);
  }

  std::pair<std::string, Bytes> manifest_bytes(const std::string& digest) override {
    return manifests_.fetch(digest);
  }

  std::filesystem::path blob_file(const Descriptor& d) override { return blobs_.blob_file(d); }

private:
  Reference ref_;
  RegistryOptions opt_;
  RegistryEndpoints endpoints_; // the parts below ask through it
  ManifestResolver manifests_;
  BlobTransfer blobs_;
};

} // namespace

bool use_plain_http(const Reference& reference, const std::vector<std::string>& insecure) {
  if (reference.is_loopback()) {
    return true;
  }
  return std::find(insecure.begin(), insecure.end(), reference.domain) != insecure.end() ||
         std::find(insecure.begin(), insecure.end(), reference.host_name()) != insecure.end();
}

std::vector<std::filesystem::path> certs_d_cas(const std::string& domain,
                                               const std::filesystem::path& root) {
  std::vector<std::filesystem::path> out;
  for (const char* dir : {"etc/docker/certs.d", "etc/containers/certs.d"}) {
    const std::filesystem::path ca = root / dir / domain / "ca.crt";
    std::error_code ec;
    if (std::filesystem::is_regular_file(ca, ec)) {
      out.push_back(ca);
    }
  }
  return out;
}

Mirror parse_mirror(const std::string& spec) {
  const std::size_t eq = spec.find('=');
  const std::string what = "--registry-mirror '" + spec + "'";
  if (eq == std::string::npos || eq == 0) {
    throw Error(ErrorCode::InvalidInput,
                what + ": expected DOMAIN=URL, e.g. docker.io=https://mirror.example:5000");
  }
  Mirror m{spec.substr(0, eq), spec.substr(eq + 1)};
  while (!m.url.empty() && m.url.back() == '/') {
    m.url.pop_back();
  }
  const bool scheme = m.url.rfind("http://", 0) == 0 || m.url.rfind("https://", 0) == 0;
  if (!scheme || m.url.find_first_of("/?#@", m.url.find("://") + 3) != std::string::npos ||
      m.url.size() == m.url.find("://") + 3) {
    throw Error(ErrorCode::InvalidInput,
                what + ": the mirror must be an http:// or https:// URL with a host and no path");
  }
  // The domain is checked as a reference's domain is, and normalised the same way.
  const std::string probe = m.domain + "/x";
  if (m.domain.find_first_of(".:[") == std::string::npos && m.domain != "localhost") {
    throw Error(ErrorCode::InvalidInput,
                what + ": '" + m.domain + "' is not a registry domain (docker.io, host:port)");
  }
  m.domain = Reference::parse(probe).domain;
  return m;
}

std::unique_ptr<RegistrySource> open_registry(const Reference& reference,
                                              const RegistryOptions& options) {
  return std::make_unique<Registry>(reference, options);
}

} // namespace oci2eif::registry
