// A registry's WWW-Authenticate header (a 401 answer picks how we authenticate).
#include "registry/auth.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A header line; HTTP servers refuse far shorter ones.
  if (size > 64 * 1024) {
    return 0;
  }
  fuzz::refusals_only([&] { (void)registry::parse_www_authenticate(fuzz::text(data, size)); });
  return 0;
}
