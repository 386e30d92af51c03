// Writes an EIF in one streaming pass (docs/eif-format.md).
//
// Every input is read exactly once, in 1 MiB chunks; the CRC and the PCR hashes are computed
// from the same chunks that are written, so memory use does not depend on the input sizes.
// Given a RunAll (core/run_all.hpp), each chunk's hashes (PCR0 and PCR1 or PCR2), its write
// and CRC, and the next chunk's read run at the same time, as separate tasks so that two threads
// share them evenly; the bytes are the same either way.
// The header is written as a placeholder first and patched at the end: its section table
// needs the signature's size (known only after PCR0 is), and the CRC, which starts with the
// header, is assembled with crc32_combine().
#pragma once

#include "core/bytes.hpp"
#include "core/eif_format.hpp"
#include "core/eif_metadata.hpp"
#include "core/eif_signature.hpp"
#include "core/pcr.hpp"
#include "core/run_all.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace oci2eif {

// Writes one ramdisk into the sink it is given, as it makes it: the image needs no size in
// advance (the section header is patched once the ramdisk is done), so a ramdisk made from the
// flattened image goes straight into the EIF instead of through a scratch file.
using RamdiskWriter = std::function<void(ByteSink&)>;

// Runs a RamdiskWriter beside the EIF writer and hands back what it writes as a source of
// unknown size (core/ has no threads: the caller's pipe runs the writer on one of its own).
// Without a pipe, the writer runs on the calling thread, between the chunks it fills.
using RamdiskPipe = std::function<std::unique_ptr<ByteSource>(const RamdiskWriter&)>;

struct EifContents {
  Arch arch = Arch::X86_64;
  ByteSource* kernel = nullptr; // required, not owned
  std::string cmdline;          // written without a NUL terminator
  EifMetadata metadata;
  // The ramdisks, in order: first `ramdisks` (not owned), then `streamed_ramdisks`; at least
  // one in all. The first of all is the one PCR1 covers.
  std::vector<ByteSource*> ramdisks;
  std::vector<RamdiskWriter> streamed_ramdisks;
  const EifSigner* signer = nullptr; // sign when set
  RunAll run_all;                    // runs a chunk's independent work; empty: in order
  RamdiskPipe ramdisk_pipe;          // runs streamed_ramdisks beside; empty: inline
};

struct EifSection {
  SectionType type;
  std::uint64_t offset; // of the 12-byte section header
  std::uint64_t size;   // of the payload
};

struct EifWriteResult {
  Measurements measurements;
  std::uint32_t crc32 = 0;
  std::uint64_t size = 0;
  std::vector<EifSection> sections;
};

// Writes the image to `out`. Throws InvalidInput for contents the format cannot hold (no
// ramdisk, too many sections, a NUL in the cmdline) and Io/Corrupt when an input cannot be read
// or does not yield the size it announced. On error `out` holds garbage: write to an
// AtomicFileWriter and commit only on success.
EifWriteResult write_eif(const EifContents& contents, PatchableSink& out);

} // namespace oci2eif
