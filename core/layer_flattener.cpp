#include "core/layer_flattener.hpp"

#include "core/error.hpp"
#include "core/tar_reader.hpp"

namespace oci2eif {
namespace {

constexpr int kMaxSymlinkHops = 40;
constexpr std::size_t kMaxPathLength = 4096; // PATH_MAX
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";

[[noreturn]] void reject(const std::string& layer, const std::string& entry,
                         const std::string& why) {
  throw Error(ErrorCode::Corrupt, layer + ": entry `" + entry + "` " + why + "; rejected");
}

// A `.wh.` marker at canonical `path`: `.wh..wh..opq` hides the lower layers' contents of its
// directory (`opaques`), `.wh.NAME` removes NAME (`whiteouts`), other `.wh..wh.` names are aufs
// metadata and ignored.
void note_whiteout(const std::string& layer, const std::string& entry, const std::string& path,
                   std::vector<std::string>& whiteouts, std::vector<std::string>& opaques) {
  const std::string base = base_name(path);
  const std::string victim = base.substr(kWhiteoutPrefix.size());
  if (base == kOpaqueMarker) {
    opaques.push_back(parent_path(path));
  } else if (victim.empty() || victim == "." || victim == "..") {
    reject(layer, entry, "is a whiteout that names no file");
  } else if (base.rfind(kWhiteoutMetaPrefix, 0) != 0) {
    whiteouts.push_back(join_path(parent_path(path), victim));
  }
}

FileType file_type(TarEntryType t) {
  switch (t) {
  case TarEntryType::Directory:
    return FileType::Directory;
  case TarEntryType::Symlink:
    return FileType::Symlink;
  case TarEntryType::CharDevice:
    return FileType::CharDevice;
  case TarEntryType::BlockDevice:
    return FileType::BlockDevice;
  case TarEntryType::Fifo:
    return FileType::Fifo;
  default:
    return FileType::Regular;
  }
}

} // namespace

std::uint64_t file_list_cost(const TarEntry& entry) {
  // A pending entry (~230 bytes) and a tree node (~190 with the map's own), with malloc's
  // overhead on their strings: bench_memory measured ~500 bytes an entry for 27-byte names.
  constexpr std::uint64_t kPerEntry = 512;
  return kPerEntry + 2 * (entry.path.size() + entry.link_target.size());
}

// An entry read from a layer, waiting for the layer's whiteouts to be applied first. A layer of
// a million entries holds a million of these, so nothing is kept twice: `entry.path` (the name
// as in the tar) is emptied when it equals the canonical `path`.
struct LayerFlattener::Pending {
  std::string path; // canonical
  TarEntry entry;
  std::string link_path; // canonical hardlink target
  ContentRef content;

  const std::string& name() const { return entry.path.empty() ? path : entry.path; }
};

LayerFlattener::LayerFlattener(ContentSpool& spool, FlattenLimits limits, Interrupt interrupt)
    : spool_(spool), limits_(limits), interrupt_(std::move(interrupt)) {
}

void LayerFlattener::apply_layer(ByteSource& tar, const std::string& layer) {
  std::deque<Pending> entries;
  std::vector<std::string> whiteouts, opaques;
  InterruptingSource checked(tar, interrupt_);
  collect(checked, layer, entries, whiteouts, opaques);
  for (const std::string& dir : opaques) {
    const std::string target = resolve(dir, true, layer, dir);
    const FileNode* node = tree_.find(target);
    if (node != nullptr && node->type == FileType::Directory) {
      tree_.remove_children(target);
    }
  }
  for (const std::string& path : whiteouts) {
    tree_.remove(resolve(path, false, layer, path));
  }
  while (!entries.empty()) { // each entry's memory goes as the tree takes it in
    add(entries.front(), layer);
    entries.pop_front();
  }
}

void LayerFlattener::collect(ByteSource& tar, const std::string& layer,
                             std::deque<Pending>& entries, std::vector<std::string>& whiteouts,
                             std::vector<std::string>& opaques) {
  TarReader reader(tar, layer);
  TarEntry e;
  while (reader.next(e)) {
    if (interrupt_ && total_entries_ % kInterruptEveryEntries == 0) {
      interrupt_();
    }
    count_entry(e, layer);
    Pending p;
    if (e.path.size() > kMaxPathLength || e.link_target.size() > kMaxPathLength) {
      throw Error(ErrorCode::Corrupt,
                  layer + ": an entry name or link target of " +
                      std::to_string(std::max(e.path.size(), e.link_target.size())) +
                      " bytes is longer than PATH_MAX (4096); rejected");
    }
    if (!canonical_path(e.path, p.path)) {
      reject(layer, e.path, "escapes the root");
    }
    if (base_name(p.path).rfind(kWhiteoutPrefix, 0) == 0) {
      note_whiteout(layer, e.path, p.path, whiteouts, opaques);
      continue; // markers (and aufs metadata) never reach the output
    }
    if (p.path.empty() && e.type != TarEntryType::Directory) {
      reject(layer, e.path, "replaces the root directory with a non-directory");
    }
    if (e.type == TarEntryType::Socket) {
      continue; // a socket is a live endpoint, not content: as with `tar -x`, none is made
    }
    if (e.has_xattrs) {
      xattr_paths_.push_back(p.path);
    }
    if (e.type == TarEntryType::Hardlink && !canonical_path(e.link_target, p.link_path)) {
      reject(layer, e.path, "is a hardlink to `" + e.link_target + "`, which escapes the root");
    }
    if (e.type == TarEntryType::File) {
      if (e.size > limits_.max_total_bytes - total_bytes_) {
        throw Error(ErrorCode::LimitExceeded,
                    layer + ": entry `" + e.path + "` declares " + std::to_string(e.size) +
                        " bytes, beyond the image size limit of " +
                        std::to_string(limits_.max_total_bytes) + " bytes");
      }
      total_bytes_ += e.size;
      p.content = spool_.store(reader.data(), e.size);
    }
    p.entry = std::move(e);
    if (p.entry.path == p.path) {
      std::string().swap(p.entry.path); // frees it (assigning "" would keep the buffer)
    }
    entries.push_back(std::move(p));
  }
  drain(tar);
}

void LayerFlattener::count_entry(const TarEntry& e, const std::string& layer) {
  if (++total_entries_ > limits_.max_entries) {
    throw Error(ErrorCode::LimitExceeded, layer + ": more than " +
                                              std::to_string(limits_.max_entries) +
                                              " entries in the image (the configured limit)");
  }
  file_list_bytes_ += file_list_cost(e);
  if (file_list_bytes_ > limits_.max_file_list_bytes) {
    throw Error(ErrorCode::LimitExceeded,
                layer + ": the image's file list needs more than " +
                    std::to_string(limits_.max_file_list_bytes) +
                    " bytes of memory, the build's budget (very many entries or long names)");
  }
}

void LayerFlattener::add(const Pending& p, const std::string& layer) {
  if (p.path.empty()) { // the root's own metadata
    FileNode root = *tree_.find("");
    root.mode = p.entry.mode;
    root.uid = p.entry.uid;
    root.gid = p.entry.gid;
    tree_.put("", root);
    return;
  }
  const std::string path = resolve(p.path, false, layer, p.name());
  ensure_directory(parent_path(path));
  FileNode node;
  if (p.entry.type == TarEntryType::Hardlink) {
    const std::string target = resolve(p.link_path, false, layer, p.name());
    FileNode* existing = tree_.find(target);
    if (existing == nullptr) {
      reject(layer, p.name(),
             "is a hardlink to `" + p.entry.link_target + "`, which does not exist");
    }
    if (existing->type == FileType::Directory) {
      reject(layer, p.name(), "is a hardlink to the directory `" + p.entry.link_target + "`");
    }
    if (target == path) {
      return; // a link to itself changes nothing
    }
    if (existing->link_group == 0) {
      existing->link_group = next_link_group_++;
    }
    node = *existing;
  } else {
    node.type = file_type(p.entry.type);
    node.mode = p.entry.mode;
    node.uid = p.entry.uid;
    node.gid = p.entry.gid;
    node.link_target = p.entry.link_target;
    node.rdev_major = p.entry.rdev_major;
    node.rdev_minor = p.entry.rdev_minor;
    node.content = p.content;
  }
  tree_.put(path, std::move(node));
}

void LayerFlattener::ensure_directory(const std::string& path) {
  if (path.empty()) {
    return;
  }
  const FileNode* node = tree_.find(path);
  if (node != nullptr && node->type == FileType::Directory) {
    return;
  }
  ensure_directory(parent_path(path));
  FileNode dir;
  dir.type = FileType::Directory;
  dir.mode = 0755;
  tree_.put(path, dir); // replaces a non-directory in the way, as tar extraction does
}

std::string LayerFlattener::resolve(const std::string& path, bool follow_last,
                                    const std::string& layer, const std::string& entry_name) const {
  // Components still to walk, last one at the back; links push their target's components.
  std::vector<std::string> pending;
  auto push_components = [&pending](const std::string& p) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= p.size()) {
      const std::size_t slash = std::min(p.find('/', start), p.size());
      parts.push_back(p.substr(start, slash - start));
      start = slash + 1;
    }
    pending.insert(pending.end(), parts.rbegin(), parts.rend());
  };
  push_components(path);
  std::string current;
  int hops = 0;
  while (!pending.empty()) {
    const std::string part = std::move(pending.back());
    pending.pop_back();
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (current.empty()) {
        reject(layer, entry_name, "goes through a symlink that leaves the root");
      }
      current = parent_path(current);
      continue;
    }
    const std::string candidate = join_path(current, part);
    const FileNode* node = tree_.find(candidate);
    const bool last = pending.empty();
    if (node == nullptr || node->type != FileType::Symlink || (last && !follow_last)) {
      current = candidate;
      continue;
    }
    if (++hops > kMaxSymlinkHops) {
      reject(layer, entry_name, "passes through too many symbolic links");
    }
    const std::string& target = node->link_target;
    std::string probe;
    if (target.rfind('/', 0) != 0 && !canonical_path(join_path(current, target), probe)) {
      reject(layer, entry_name,
             "goes through the symlink `" + candidate + "` -> `" + target +
                 "`, which leaves the root");
    }
    if (target.rfind('/', 0) == 0) {
      current.clear();
    }
    push_components(target);
  }
  return current;
}

} // namespace oci2eif
