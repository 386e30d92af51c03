// The CBOR of an EIF signature: the signature section (an array of certificate and COSE_Sign1
// pairs), each COSE_Sign1 and the PCR payload it signs. The input is tried as each of the
// three, so one corpus of CBOR documents serves all.
#include "core/cose_sign1.hpp"
#include "core/eif_signature.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  const ByteView bytes = fuzz::view(data, size);
  fuzz::refusals_only([&] {
    for (const PcrSignatureEntry& entry : decode_signature_section(bytes)) {
      const CoseSign1 message = cose_sign1_parse(entry.signature, "signature");
      (void)decode_pcr_info(message.payload, "signature payload");
    }
  });
  fuzz::refusals_only([&] {
    const CoseSign1 message = cose_sign1_parse(bytes, "signature");
    (void)decode_pcr_info(message.payload, "signature payload");
  });
  fuzz::refusals_only([&] { (void)decode_pcr_info(bytes, "signature payload"); });
  return 0;
}
