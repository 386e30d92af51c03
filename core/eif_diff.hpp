// Why two EIFs measure differently: each difference in what a PCR covers, named and tied to
// the PCRs it moves (core/pcr.hpp says which section each covers):
//
//   subject      pcrs              what differs
//   kernel       PCR0 PCR1         the kernel section (a/b: its SHA-384, KernelVersion, OS)
//   cmdline      PCR0 PCR1         the kernel command line
//   ramdisks     PCR0 PCR1 PCR2    the number of ramdisks
//   bootstrap    PCR0 PCR1         a member of ramdisk 0 (init, nsm.ko, dev); path = its name
//   file         PCR0 PCR2         an entry of the container's filesystem; path = "/…"
//   cmd          PCR0 PCR2         the command (ENTRYPOINT + CMD)
//   env          PCR0 PCR2         one environment variable; path = its name
//   workdir/user PCR0 PCR2         the working directory, the user
//   member       PCR0 PCR2         another member of an application ramdisk (not ours)
//   mtime        PCR0 PCR1|PCR2    the one mtime every member of a ramdisk has
//   archive      PCR0 PCR1|PCR2    ramdisk bytes that differ with the same members (member
//                                  order, inode numbers, padding), or a ramdisk that is not
//                                  cpio; a/b: the SHA-384 of each ramdisk of that role
//   certificate  PCR8              the signing certificate
//   metadata     (none)            a field of the metadata section, which no PCR covers
//
// A member that changed lists which of its fields differ ("type", "mode", "owner", "size",
// "sha256", "target", "device", "hardlink_of", "mtime") and a/b hold just those. Every
// measured difference yields at least one change, so a PCR never changes unexplained.
#pragma once

#include "core/eif_inventory.hpp"
#include "core/pcr.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oci2eif {

struct EifChange {
  std::string subject;
  std::vector<std::string> pcrs; // empty: not measured
  std::string path;              // "" where the subject is the whole thing
  std::string change;            // "added", "removed", "changed" or "reordered"
  std::vector<std::string> fields;
  nlohmann::ordered_json a; // null when absent from A
  nlohmann::ordered_json b;
};

struct EifDiff {
  Measurements a, b;
  std::vector<EifChange> changes; // measured ones first, in the table's order
  bool same_measurements() const;
};

EifDiff diff_eifs(const EifInventory& a, const EifInventory& b);

// {"identical": bool, "measurements": {"PCR0": {"a", "b", "changed"}, …},
//  "changes": [{"subject", "pcrs", ["path"], "change", ["fields"], "a", "b"}, …]}
nlohmann::ordered_json diff_json(const EifDiff& diff);

} // namespace oci2eif
