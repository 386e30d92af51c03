// The Range header of an artifact download. The first 8 input bytes are the artifact's size
// (little-endian; fewer bytes give a small size), the rest the header value. A slice must lie
// inside the file: the answer's Content-Length is computed from it.
#include "api/byte_ranges.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <algorithm>
#include <string_view>

using namespace oci2eif;
using api::RangeAnswer;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) {
    return 0;
  }
  std::uint64_t file_size = 0;
  const std::size_t size_bytes = std::min<std::size_t>(size, 8);
  for (std::size_t i = 0; i < size_bytes; ++i) {
    file_size |= std::uint64_t{data[i]} << (8 * i);
  }
  const std::string_view header(reinterpret_cast<const char*>(data) + size_bytes,
                                size - size_bytes);
  fuzz::refusals_only([&] {
    const RangeAnswer answer = api::answer_range(header, file_size);
    if (answer.kind == RangeAnswer::Kind::Slice) {
      fuzz::require(answer.first <= answer.last && answer.last < file_size,
                    "a slice lies inside the file");
    }
  });
  return 0;
}
