// What `oci2eif verify` reads from a provenance file before it trusts anything: the DSSE
// envelope, its signature check, and the in-toto statement's subjects.
#include "core/dsse.hpp"
#include "core/provenance.hpp"
#include "core/verification_key.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace oci2eif;

namespace {

// The AWS vectors' P-384 key (tests/data/eif-vectors), which signed the valid seeds: the fuzzer
// starts from envelopes that verify and mutates them.
constexpr const char* kKeyPem = R"(-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEl6OV2F261o1LKbAvzG31+csAzCIY9Z+g
iTfSKVbEJYwaWJHfh8djFt59PJY5WArUUHDsp8IJfqi1ziqOJZtGyhGAd5EN8h01
LbyUiEho9j1TAI4/ZBDP99Dkzt6yK1a2
-----END PUBLIC KEY-----
)";

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::kMaxInput) {
    return 0;
  }
  static const VerificationKey key = VerificationKey::from_pem(as_bytes(kKeyPem), "fuzz key");
  fuzz::refusals_only([&] {
    const DsseEnvelope envelope = parse_dsse(fuzz::view(data, size), "fuzz.intoto.jsonl");
    (void)dsse_verify(envelope, key);
    for (const ProvenanceSubject& s : statement_subjects(envelope.payload, "fuzz statement")) {
      for (const auto& [pcr, value] : s.pcrs) {
        fuzz::require(pcr.starts_with("PCR"), "only PCR annotations are read");
        (void)value;
      }
    }
  });
  return 0;
}
