// Image references as a request or webhook names them: the build request's `image` string
// (its oci-layout:/oci-archive:/docker-archive: prefixes, else a registry reference), the
// registry reference itself and a platform. A reference that parses prints as a reference that
// parses to the same text (the normalised form is what builds and dedupe keys record).
#include "pipeline/image_reference.hpp"
#include "registry/platform.hpp"
#include "registry/reference.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;
using registry::Reference;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // References are short; the parsers are linear, so long inputs only cost time.
  if (size > 4096) {
    return 0;
  }
  const std::string text = fuzz::text(data, size);
  fuzz::refusals_only([&] {
    const Reference reference = Reference::parse(text);
    const std::string normal = reference.to_string();
    fuzz::require(Reference::parse(normal).to_string() == normal,
                  "a normalised reference parses back to itself");
    (void)reference.api_host();
    (void)reference.host_name();
    (void)reference.is_loopback();
  });
  fuzz::refusals_only([&] { (void)pipeline::parse_image_reference(text); });
  fuzz::refusals_only([&] { (void)registry::Platform::parse(text).to_string(); });
  return 0;
}
