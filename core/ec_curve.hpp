// The elliptic curves EIF signing supports and their COSE parameters (RFC 8152 §8.1; upstream
// aws-nitro-enclaves-cose supports exactly these three, FORMAT.md §6).
#pragma once

#include "core/sha.hpp"

#include <cstdint>
#include <string_view>

namespace oci2eif {

struct EcCurve {
  std::string_view group;      // OpenSSL group name
  std::string_view nist_name;  // for messages
  HashAlgorithm digest;        // hash signed by the COSE algorithm
  std::size_t coordinate_size; // bytes of r and of s in the raw signature
  std::int64_t cose_algorithm; // COSE "alg" value
};

inline constexpr EcCurve kEcCurves[] = {
    {"prime256v1", "P-256", HashAlgorithm::Sha256, 32, -7},
    {"secp384r1", "P-384", HashAlgorithm::Sha384, 48, -35},
    {"secp521r1", "P-521", HashAlgorithm::Sha512, 66, -36},
};

inline const EcCurve* ec_curve_by_group(std::string_view group) {
  for (const EcCurve& c : kEcCurves) {
    if (c.group == group) {
      return &c;
    }
  }
  return nullptr;
}

inline const EcCurve* ec_curve_by_cose_algorithm(std::int64_t alg) {
  for (const EcCurve& c : kEcCurves) {
    if (c.cose_algorithm == alg) {
      return &c;
    }
  }
  return nullptr;
}

} // namespace oci2eif
