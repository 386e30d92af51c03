// oci2eif verify: an EIF against its signed provenance. Each check answers one question, and the
// exit status says which failed first, so a CI job can tell a forged statement (3) from a
// statement about another file (4) from a build that is not the one expected (5).
#include "cli/commands.hpp"
#include "core/certificate.hpp"
#include "core/digest.hpp"
#include "core/dsse.hpp"
#include "core/eif_reader.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"
#include "core/pcr.hpp"
#include "core/provenance.hpp"
#include "core/verification_key.hpp"

#include <algorithm>
#include <cctype>
#include <ostream>
#include <utility>

namespace oci2eif::cli {
namespace {

constexpr std::size_t kMaxKeyFileSize = 1 << 20;

// A PCR the statement or the caller states that the EIF does not have, or "" if all agree.
std::string pcr_mismatch(const std::map<std::string, std::string>& stated,
                         const std::map<std::string, std::string>& measured) {
  for (const auto& [pcr, value] : stated) {
    std::string lower = value;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto it = measured.find(pcr);
    if (it == measured.end() || it->second != lower) {
      return pcr + " is " + (it == measured.end() ? "absent" : it->second) + ", not " + value;
    }
  }
  return "";
}

// The key named by --certificate or --key, and that file's name for messages.
std::pair<VerificationKey, std::string> verification_key(const VerifyOptions& o) {
  if (o.certificate) {
    const std::string name = o.certificate->string();
    const Certificate certificate =
        Certificate::from_pem(read_small_file(*o.certificate, kMaxKeyFileSize), name);
    return {VerificationKey::from_certificate(certificate, name), name};
  }
  if (!o.key) {
    throw Error(ErrorCode::InvalidInput, "verify: --certificate or --key is required");
  }
  const std::string name = o.key->string();
  return {VerificationKey::from_pem(read_small_file(*o.key, kMaxKeyFileSize), name), name};
}

} // namespace

int run_verify(const VerifyOptions& o, std::ostream& out) {
  const auto [key, key_name] = verification_key(o);
  const DsseEnvelope envelope =
      parse_dsse(read_small_file(o.provenance, kMaxProvenanceSize), o.provenance.string());
  if (envelope.payload_type != kInTotoPayloadType) {
    throw Error(ErrorCode::Corrupt, o.provenance.string() + ": payloadType is '" +
                                        envelope.payload_type + "', not " + kInTotoPayloadType);
  }
  if (!dsse_verify(envelope, key)) {
    out << "FAIL signature: no signature of " << o.provenance.string() << " verifies with "
        << key_name << "\n";
    return kVerifySignature;
  }
  out << "ok   signature: the provenance is signed by the key of " << key_name << "\n";
  const auto subjects = statement_subjects(envelope.payload, o.provenance.string());
  const std::string eif_sha256 = sha256_file_digest(o.eif).substr(7);
  const auto subject = std::find_if(subjects.begin(), subjects.end(),
                                    [&](const auto& s) { return s.sha256 == eif_sha256; });
  if (subject == subjects.end()) {
    out << "FAIL subject: the statement is not about " << o.eif.string() << " (sha256 "
        << eif_sha256 << ")\n";
    return kVerifySubject;
  }
  out << "ok   subject: the statement is about " << o.eif.string() << " (sha256 " << eif_sha256
      << ")\n";
  FileSource in(o.eif);
  const auto measured = pcr_hex_map(read_eif(in, o.eif.string()).measurements);
  for (const auto* stated : {&subject->pcrs, &o.expect_pcrs}) {
    const std::string why = pcr_mismatch(*stated, measured);
    if (!why.empty()) {
      out << "FAIL pcrs: " << why << (stated == &o.expect_pcrs ? " (expected)" : " (stated)")
          << "\n";
      return kVerifyPcrs;
    }
  }
  out << "ok   pcrs: the EIF measures as the statement says"
      << (o.expect_pcrs.empty() ? "" : " and as expected") << "\n";
  return 0;
}

} // namespace oci2eif::cli
