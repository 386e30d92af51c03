// Layer tarballs as a registry or an archive serves them: decompression (the first input byte
// picks none, gzip or zstd, as a layer's media type does) and then every tar entry and its data.
#include "core/tar_reader.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

namespace {

// Decompressed bytes read per input before giving up: a small gzip or zstd bomb expands past
// any size the fuzzer could make interesting, and only slows it down.
constexpr std::uint64_t kMaxExpanded = 16 << 20;

void read_layer(ByteSource& raw, Compression compression) {
  const std::unique_ptr<ByteSource> in = decompressing_source(raw, compression, "layer");
  TarReader tar(*in, "layer");
  TarEntry entry;
  Bytes buffer(64 * 1024);
  std::uint64_t total = 0;
  while (tar.next(entry)) {
    for (std::size_t n; total < kMaxExpanded && (n = tar.data().read(buffer)) > 0;) {
      total += n;
    }
    if (total >= kMaxExpanded) {
      return;
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > fuzz::kMaxInput) {
    return 0;
  }
  const Compression compression = data[0] % 3 == 0   ? Compression::None
                                  : data[0] % 3 == 1 ? Compression::Gzip
                                                     : Compression::Zstd;
  MemorySource raw(fuzz::view(data + 1, size - 1), "layer");
  fuzz::refusals_only([&] { read_layer(raw, compression); });
  return 0;
}
