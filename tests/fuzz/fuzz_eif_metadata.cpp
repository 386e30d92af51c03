// JSON an EIF's metadata section holds (as read back from a file) and a --metadata file or a
// request's custom metadata.
#include "core/eif_metadata.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  const ByteView bytes = fuzz::view(data, size);
  fuzz::refusals_only([&] { (void)encode_metadata(decode_metadata(bytes)); });
  fuzz::refusals_only([&] { (void)parse_custom_metadata(bytes, "metadata.json"); });
  return 0;
}
