#include "cli/commands.hpp"
#include "core/certificate.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/pcr.hpp"
#include "core/sha.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

namespace oci2eif::cli {

void run_pcr(const PcrOptions& o, std::ostream& out) {
  if (o.input.has_value() == o.signing_certificate.has_value()) {
    throw Error(ErrorCode::InvalidInput, "give exactly one of --input or --signing-certificate");
  }
  // nitro-cli prints {"PCR": …} for a file and {"PCR8": …} for a certificate.
  Bytes pcr;
  std::string key = "PCR";
  if (o.input) {
    // Streamed: the input may be a multi-gigabyte ramdisk.
    FileSource in(*o.input);
    Hasher h(HashAlgorithm::Sha384);
    Bytes buffer(1 << 20);
    for (std::size_t n; (n = in.read(buffer)) > 0;) {
      h.write(ByteView(buffer.data(), n));
    }
    pcr = pcr_extend_from_zero(h.finish());
  } else {
    const Bytes pem = read_small_file(*o.signing_certificate, 1 << 20);
    pcr = pcr8_of(Certificate::from_pem(pem, o.signing_certificate->string()));
    key = "PCR8";
  }
  nlohmann::ordered_json doc;
  doc[key] = to_hex(pcr);
  out << doc.dump(2) << "\n";
}

} // namespace oci2eif::cli
