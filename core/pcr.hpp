// Nitro Enclave platform configuration register (PCR) values of an image.
//
// A PCR starts at 48 zero bytes and is "extended" once with the SHA-384 of the measured data:
//   PCR = SHA384(0^48 ‖ SHA384(data))                               (FORMAT.md §4)
//   PCR0 = kernel ‖ cmdline ‖ ramdisk[0] ‖ … ‖ ramdisk[n-1]   (metadata, signature excluded)
//   PCR1 = kernel ‖ cmdline ‖ ramdisk[0]
//   PCR2 = ramdisk[1] ‖ … ‖ ramdisk[n-1]
//   PCR8 = DER of the signing certificate (signed images only)
#pragma once

#include "core/bytes.hpp"

#include <map>
#include <optional>
#include <string>

namespace oci2eif {

inline constexpr std::size_t kPcrSize = 48;

// Extends a zero PCR with an already computed SHA-384 digest.
Bytes pcr_extend_from_zero(ByteView sha384_digest);

// PCR of arbitrary data, as `nitro-cli pcr --input` computes it.
Bytes pcr_of(ByteView data);

struct Measurements {
  Bytes pcr0, pcr1, pcr2;
  std::optional<Bytes> pcr8;
};

// The value nitro-cli and eif_build print as "HashAlgorithm" (sha2 0.9's Debug string).
inline constexpr const char* kHashAlgorithmLabel = "Sha384 { ... }";

// The measurements as nitro-cli prints them:
//   {"HashAlgorithm":"Sha384 { ... }","PCR0":"<hex>","PCR1":…,"PCR2":…[,"PCR8":…]}
// compact JSON text; callers embed or pretty-print it.
std::string measurements_json(const Measurements& m);

// The measurements as "PCR0" → lower-case hex (PCR8 only when present), the shape in which
// PCRs from different places (an EIF, a statement, a registry's annotations) are compared.
std::map<std::string, std::string> pcr_hex_map(const Measurements& m);

} // namespace oci2eif
