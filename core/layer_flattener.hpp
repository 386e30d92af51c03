// Applies image layers, in order, to an in-memory FileTree with the OCI image-spec semantics
// (image-spec layer.md "Representing Changes"):
//
// - `.wh.NAME` removes NAME (and its subtree) from the lower layers; `.wh..wh..opq` removes
//   every lower-layer child of its directory. Both take effect before the layer's own entries,
//   whatever their order in the tar, and never reach the output.
// - A non-directory replacing a directory removes the directory's subtree; directory over
//   directory only changes metadata.
// - A hardlink copies its target's node as it is at that moment and joins its link group, so
//   the link keeps that content even if the target is later removed or replaced.
// - Symlinks in a parent path are followed inside the image root (absolute targets start at the
//   image root); a path that would climb above the root is an error, as is any entry name or
//   hardlink target that escapes it. As in the kernel, one lookup follows at most 40 links, so a
//   crafted chain of links costs linear, not exponential, time. Names and link targets longer
//   than PATH_MAX (4096) are refused: the initramfs unpacker could not create them anyway.
// - Missing parent directories are created (0755, 0:0), as tar extraction does.
// - Extended attributes cannot be carried into a newc cpio: the paths that had some are
//   recorded in xattr_paths() for the build log. Socket entries are skipped.
//
// Nothing is written to the host except file contents, into the ContentSpool.
//
// A layer can be stopped part-way: the Interrupt given at construction is called every
// kInterruptEveryEntries tar entries and every kInterruptEveryBytes bytes of layer read. What it
// throws leaves apply_layer() while the layer is being read, before any of its entries is
// applied to the tree; the flattener is then to be discarded.
#pragma once

#include "core/bytes.hpp"
#include "core/content_spool.hpp"
#include "core/file_tree.hpp"
#include "core/interrupt.hpp"
#include "core/tar_reader.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace oci2eif {

struct FlattenLimits {
  // File content summed over all layers, sparse files at their full size. 8 GiB: an enclave
  // holds the EIF and the unpacked ramdisks in its memory, so an image much larger than this
  // has no enclave to run in, and a gzip bomb stops here rather than at a full disk.
  std::uint64_t max_total_bytes = 8ull << 30;
  std::uint64_t max_entries = 2'000'000; // tar entries, summed over all layers
  // Memory the image's file list may take (names, link targets, nodes; contents stream through
  // the spool): what a build holds grows with it alone. Counted on the high side, every entry
  // of every layer, so a layer of long names cannot get round max_entries. 2 GiB holds the
  // default 2,000,000 entries with names of up to ~250 bytes.
  std::uint64_t max_file_list_bytes = 2ull << 30;
};

// What `entry` adds to a build's file list in memory, as counted against max_file_list_bytes:
// its name and link target twice (read, then in the tree) and a fixed cost per entry.
std::uint64_t file_list_cost(const TarEntry& entry);

// Entries of a layer read between two calls of the Interrupt (many tiny entries read few bytes).
inline constexpr std::uint64_t kInterruptEveryEntries = 256;

class LayerFlattener {
public:
  LayerFlattener(ContentSpool& spool, FlattenLimits limits = {}, Interrupt interrupt = {});

  // Applies one uncompressed layer tar. `layer_name` prefixes every error, e.g.
  // "layer 2 (sha256:ab12…)". The source is read to its end (so a verifying source can check it).
  void apply_layer(ByteSource& tar, const std::string& layer_name);

  const FileTree& tree() const { return tree_; }
  // The tree, moved out once the last layer is applied (the flattener is done with it).
  FileTree take_tree() && { return std::move(tree_); }
  const std::vector<std::string>& xattr_paths() const { return xattr_paths_; }

private:
  struct Pending;
  void count_entry(const TarEntry& entry, const std::string& layer);
  void collect(ByteSource& tar, const std::string& layer, std::deque<Pending>& entries,
               std::vector<std::string>& whiteouts, std::vector<std::string>& opaques);
  void add(const Pending& entry, const std::string& layer);
  // Resolves the symlinks along a canonical path (the last component too when `follow_last`),
  // inside the image root.
  std::string resolve(const std::string& path, bool follow_last, const std::string& layer,
                      const std::string& entry_name) const;
  void ensure_directory(const std::string& path);

  ContentSpool& spool_;
  FlattenLimits limits_;
  Interrupt interrupt_;
  FileTree tree_;
  std::uint64_t total_bytes_ = 0;
  std::uint64_t total_entries_ = 0;
  std::uint64_t file_list_bytes_ = 0;
  std::uint64_t next_link_group_ = 1;
  std::vector<std::string> xattr_paths_;
};

} // namespace oci2eif
