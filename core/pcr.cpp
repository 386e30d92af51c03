#include "core/pcr.hpp"

#include "core/sha.hpp"

#include <nlohmann/json.hpp>

namespace oci2eif {

Bytes pcr_extend_from_zero(ByteView sha384_digest) {
  Hasher h(HashAlgorithm::Sha384);
  const Bytes zero(kPcrSize, 0);
  h.write(zero);
  h.write(sha384_digest);
  return h.finish();
}

Bytes pcr_of(ByteView data) {
  return pcr_extend_from_zero(sha384(data));
}

std::map<std::string, std::string> pcr_hex_map(const Measurements& m) {
  std::map<std::string, std::string> pcrs{
      {"PCR0", to_hex(m.pcr0)}, {"PCR1", to_hex(m.pcr1)}, {"PCR2", to_hex(m.pcr2)}};
  if (m.pcr8) {
    pcrs["PCR8"] = to_hex(*m.pcr8);
  }
  return pcrs;
}

std::string measurements_json(const Measurements& m) {
  nlohmann::ordered_json j;
  j["HashAlgorithm"] = kHashAlgorithmLabel;
  j["PCR0"] = to_hex(m.pcr0);
  j["PCR1"] = to_hex(m.pcr1);
  j["PCR2"] = to_hex(m.pcr2);
  if (m.pcr8) {
    j["PCR8"] = to_hex(*m.pcr8);
  }
  return j.dump();
}

} // namespace oci2eif
