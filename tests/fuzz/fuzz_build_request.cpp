// The JSON body of POST /v1/builds. What parses must also survive the job store's round trip:
// to_json() of the request parses back to the same canonical text.
#include "server/build_request.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  fuzz::refusals_only([&] {
    const std::string stored = server::to_json(server::parse_build_request(fuzz::text(data, size)));
    fuzz::require(server::to_json(server::parse_build_request(stored)) == stored,
                  "a stored build request reads back as it was written");
  });
  return 0;
}
