// `oci2eif pull REF --oci-layout DIR`: one platform's image from a registry into an OCI layout,
// for builds that must not reach the network.
#include "cli/commands.hpp"
#include "cli/image_options.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"
#include "registry/registry_source.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

namespace oci2eif::cli {
namespace {

void write_layout_blob(const std::filesystem::path& dir, const std::string& digest, ByteView data) {
  AtomicFileWriter f(dir / "blobs" / "sha256" / digest.substr(7));
  f.write(data);
  f.commit();
}

} // namespace

void run_pull(const BuildOptions& o, std::ostream& out, std::ostream& log) {
  if (!o.image || o.oci_layout || o.oci_archive || o.docker_archive) {
    throw Error(ErrorCode::InvalidInput, "pull takes an image reference and --oci-layout DIR");
  }
  const Arch arch = enclave_arch(o);
  pipeline::ImageRef ref = image_ref(o);
  const auto display = progress_display(o, log);
  ref.options.log = display->log_function();
  ref.options.progress = display->observer();
  auto source = registry::open_registry(registry::Reference::parse(ref.location), ref.options);
  const registry::Platform platform = platform_of(o, arch);
  const registry::ResolvedImage image = source->resolve(platform);
  source->fetch_layers(image.manifest.layers);
  const std::filesystem::path dir = o.output;
  std::filesystem::create_directories(dir / "blobs" / "sha256");
  const auto [type, manifest] = source->manifest_bytes(image.manifest_digest);
  write_layout_blob(dir, image.manifest_digest, manifest);
  std::vector<registry::Descriptor> blobs = image.manifest.layers;
  blobs.push_back(image.manifest.config);
  for (const registry::Descriptor& d : blobs) {
    const std::filesystem::path target = dir / "blobs" / "sha256" / d.digest.substr(7);
    std::filesystem::copy_file(source->blob_file(d), target,
                               std::filesystem::copy_options::overwrite_existing);
  }
  const std::string tag = source->reference().tag.empty() ? "latest" : source->reference().tag;
  nlohmann::json entry = {{"mediaType", type},
                          {"digest", image.manifest_digest},
                          {"size", manifest.size()},
                          {"annotations", {{"org.opencontainers.image.ref.name", tag}}}};
  const nlohmann::json index = {{"schemaVersion", 2},
                                {"mediaType", registry::media_type::kOciIndex},
                                {"manifests", nlohmann::json::array({entry})}};
  write_text(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  write_text(dir / "index.json", index.dump());
  const nlohmann::json result = {{"reference", source->reference().to_string()},
                                 {"digest", source->resolved_digest()},
                                 {"platform", platform.to_string()},
                                 {"manifest", image.manifest_digest},
                                 {"ociLayout", dir.string() + ":" + tag}};
  out << result.dump(2) << "\n";
}

} // namespace oci2eif::cli
