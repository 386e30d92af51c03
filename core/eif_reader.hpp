// A strict EIF reader: it accepts exactly the files AWS's EifBuilder writes (version 4) and
// rejects everything else with a message that says what is wrong and where.
//
// Checked, in file order: header length, magic, version, flags and reserved fields, section
// count, unused table entries, then for each section its offset against the table, type,
// position in the canonical order (kernel, cmdline, metadata, ramdisk…, [signature]), flags,
// size against the table and against the bytes left; then trailing bytes, the CRC, the metadata
// keys, and for signed files the COSE signature, that it signs the image's PCR0, and (when a
// time is given) the certificate's validity period.
//
// The file is read once, sequentially, in chunks; only cmdline, metadata and signature (each
// capped at 1 MiB) are held in memory.
#pragma once

#include "core/bytes.hpp"
#include "core/certificate.hpp"
#include "core/eif_format.hpp"
#include "core/eif_metadata.hpp"
#include "core/eif_writer.hpp"
#include "core/pcr.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace oci2eif {

inline constexpr std::uint64_t kMaxSmallSectionSize = 1 << 20;

struct EifSignatureReport {
  Bytes certificate_pem;
  CertificateInfo certificate;
  std::int64_t not_before_unix = 0;
  std::int64_t not_after_unix = 0;
};

struct EifInfo {
  EifHeader header;
  Arch arch = Arch::X86_64;
  std::uint64_t size = 0;
  std::vector<EifSection> sections;
  std::string cmdline;
  EifMetadata metadata;
  Measurements measurements;
  std::optional<EifSignatureReport> signature; // set for signed images
};

struct EifReadOptions {
  // When set, the signing certificate must be valid at this Unix time (the caller's clock).
  std::optional<std::int64_t> now_unix;
  // When set, called once per section before its payload is read; a non-null sink receives
  // the payload bytes. Sinks see data before validation is complete: commit them only after
  // read_eif() returns.
  std::function<ByteSink*(std::size_t index, const EifSection& section)> payload_sink;
  // PCR0-2 as the caller measured them while it wrote this very file (a build that just did):
  // taken as they are instead of hashing the payloads again, which costs two SHA-384 passes over
  // the ramdisks (over 2 s of CPU per GB). Everything else is still checked, the CRC and the
  // signature (against this PCR0) included.
  std::optional<Measurements> measured;
};

// Reads and validates `in` (whose size() must be the file size). `name` prefixes errors.
// Throws Error(Corrupt) for a malformed file, Error(Unsupported) for another version.
EifInfo read_eif(ByteSource& in, const std::string& name, const EifReadOptions& options = {});

} // namespace oci2eif
