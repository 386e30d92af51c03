// A layer applied to the image tree: path normalisation, whiteouts, opaque directories,
// hardlinks and symlinked parents. The input is applied twice, as two layers of one image, so
// its whiteouts and replacements also meet a tree that already has entries; then the tree is
// listed, as `oci2eif rootfs` does.
#include "core/content_spool.hpp"
#include "core/layer_flattener.hpp"
#include "core/rootfs_listing.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  fuzz::refusals_only([&] {
    MemorySpool spool;
    // Smaller than the defaults so that a sparse-file header cannot ask for gigabytes of memory
    // from the in-memory spool; the limit checks themselves are exercised all the same.
    LayerFlattener flattener(spool, FlattenLimits{64 << 20, 100'000});
    for (const char* layer : {"layer 1", "layer 2"}) {
      MemorySource in(fuzz::view(data, size), layer);
      flattener.apply_layer(in, layer);
    }
    VectorSink listing;
    write_rootfs_listing(flattener.tree(), listing);
  });
  return 0;
}
