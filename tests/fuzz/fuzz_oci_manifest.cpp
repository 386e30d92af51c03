// Registry and image-layout JSON: an index (and the platform choice made from it), a manifest
// served as OCI or Docker schema 2 (and each layer's media type), and an image config. The input
// is tried as each, so one corpus of documents serves all.
#include "registry/manifest.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;
using namespace oci2eif::registry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  const ByteView json = fuzz::view(data, size);
  fuzz::refusals_only([&] {
    const ImageIndex index = parse_index(json, "index");
    (void)select_platform(index, Platform::parse("linux/amd64"), "index");
  });
  for (const char* served_as : {media_type::kOciManifest, media_type::kDockerManifest}) {
    fuzz::refusals_only([&] {
      const ImageManifest manifest = parse_manifest(json, served_as, "manifest");
      for (const Descriptor& layer : manifest.layers) {
        (void)layer_compression(layer.media_type, "layer");
      }
    });
  }
  fuzz::refusals_only([&] { (void)parse_config(json, "config"); });
  return 0;
}
