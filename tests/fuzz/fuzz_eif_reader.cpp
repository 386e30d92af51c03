// An EIF file as `oci2eif describe` reads it: header, section table, sections, CRC, metadata,
// COSE signature and certificate; then the describe-eif JSON of whatever was accepted.
#include "core/eif_describe.hpp"
#include "core/eif_reader.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  fuzz::refusals_only([&] {
    MemorySource in(fuzz::view(data, size), "fuzz.eif");
    EifReadOptions options;
    // A fixed clock (2024-01-01) keeps the certificate validity check deterministic.
    options.now_unix = 1'704'067'200;
    const EifInfo info = read_eif(in, "fuzz.eif", options);
    (void)describe_json(info).dump();
  });
  return 0;
}
