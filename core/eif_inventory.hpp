// Everything about an EIF that its measurements depend on, in a form two images can be
// compared by (core/eif_diff.hpp): the validated header and sections (core/eif_reader.hpp), the
// SHA-384 of each measured section, and the members of its ramdisks.
//
// Ramdisk 0 is the bootstrap ramdisk (PCR1); the others are the application's (PCR2), merged in
// order as the kernel unpacks them over one another. Their "cmd", "env", "workdir" and "user"
// members keep their content: they are the container's launch settings (core/ramdisk_writer.hpp).
#pragma once

#include "core/bytes.hpp"
#include "core/eif_reader.hpp"
#include "core/ramdisk_index.hpp"

#include <map>
#include <string>
#include <vector>

namespace oci2eif {

struct EifInventory {
  EifInfo info;
  Bytes kernel_sha384;
  std::vector<Bytes> ramdisk_sha384; // one per ramdisk section, in file order
  RamdiskIndex bootstrap;
  RamdiskIndex application;
  // Ramdisks that are not (gzip) cpio, by index, with why: an EIF may hold any bytes there, so
  // they are compared by their SHA-384 alone.
  std::map<std::size_t, std::string> unreadable_ramdisks;
};

// Reads `in` twice: once whole (validated as read_eif() does), then each ramdisk. `name`
// prefixes errors. Throws Corrupt for a malformed EIF.
EifInventory read_eif_inventory(PositionalReader& in, const std::string& name);

} // namespace oci2eif
