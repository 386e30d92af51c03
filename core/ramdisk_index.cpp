#include "core/ramdisk_index.hpp"

#include "core/cpio_reader.hpp"
#include "core/error.hpp"
#include "core/gzip_source.hpp"
#include "core/sha.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <tuple>
#include <vector>

namespace oci2eif {
namespace {

constexpr std::uint32_t kTypeMask = 0170000;
constexpr std::uint64_t kMaxKeptContent = 1 << 20;
constexpr std::uint32_t kSocket = 0140000;

// Replays the bytes read to sniff the format, then the rest of `in`.
class PrefixedSource final : public ByteSource {
public:
  PrefixedSource(Bytes prefix, ByteSource& in) : prefix_(std::move(prefix)), in_(in) {}
  std::uint64_t size() const override { return kUnknownSize; }
  std::size_t read(std::span<std::uint8_t> out) override {
    if (pos_ < prefix_.size()) {
      const std::size_t n = std::min(out.size(), prefix_.size() - pos_);
      std::copy_n(prefix_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
      pos_ += n;
      return n;
    }
    return in_.read(out);
  }
  std::string describe() const override { return in_.describe(); }

private:
  Bytes prefix_;
  std::size_t pos_ = 0;
  ByteSource& in_;
};

Bytes read_prefix(ByteSource& in, std::size_t n) {
  Bytes prefix(n);
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = in.read(std::span(prefix).subspan(got));
    if (r == 0) {
      break;
    }
    got += r;
  }
  prefix.resize(got);
  return prefix;
}

// Reads the current member's data: hashed for regular files (and kept if asked), kept as the
// target for symlinks, skipped for anything else.
void read_content(CpioReader& reader, const CpioHeader& h, bool keep, RamdiskMember& m,
                  const std::string& archive) {
  const std::uint32_t type = h.mode & kTypeMask;
  if (type == kCpioSymlink) {
    if (h.filesize > kMaxCpioNameSize) {
      throw Error(ErrorCode::Corrupt, archive + " member `" + h.name +
                                          "` has a symlink target of " +
                                          std::to_string(h.filesize) + " bytes");
    }
    m.link_target.resize(static_cast<std::size_t>(h.filesize));
    auto* p = reinterpret_cast<std::uint8_t*>(m.link_target.data());
    for (std::size_t got = 0; got < m.link_target.size();) {
      got += reader.read_data({p + got, m.link_target.size() - got});
    }
    return;
  }
  if (type != kCpioRegular) {
    return;
  }
  keep = keep && h.filesize <= kMaxKeptContent;
  Hasher hasher(HashAlgorithm::Sha256);
  std::array<std::uint8_t, 64 * 1024> buf{};
  while (const std::size_t n = reader.read_data(buf)) {
    const ByteView chunk(buf.data(), n);
    hasher.write(chunk);
    if (keep) {
      m.content += as_chars(chunk);
    }
  }
  m.size = h.filesize;
  m.sha256 = hasher.finish();
}

// Hardlinked members (nlink > 1, same device and inode) hold one content: the kernel writes
// each member's data into the one file in turn, so the last member with data decides it.
class HardlinkGroups {
public:
  void add(const CpioReader& reader, const CpioHeader& h, RamdiskMember& m) {
    if ((h.mode & kTypeMask) != kCpioRegular || h.nlink < 2) {
      return;
    }
    auto& group = groups_[{reader.dev_major(), reader.dev_minor(), h.ino}];
    if (!group.empty()) {
      m.hardlink_of = group.front();
    }
    group.push_back(h.name);
  }

  void share_contents(RamdiskIndex& index) const {
    for (const auto& [inode, names] : groups_) {
      const RamdiskMember* source = nullptr;
      for (const std::string& name : names) {
        const auto it = index.find(name);
        if (it != index.end() && it->second.size > 0) {
          source = &it->second;
        }
      }
      if (source == nullptr) {
        continue;
      }
      const RamdiskMember shared = *source;
      for (const std::string& name : names) {
        const auto it = index.find(name);
        if (it != index.end()) {
          it->second.size = shared.size;
          it->second.sha256 = shared.sha256;
        }
      }
    }
  }

private:
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, std::vector<std::string>>
      groups_;
};

} // namespace

RamdiskIndex index_ramdisk(ByteSource& in, const std::string& name,
                           const RamdiskIndexOptions& options) {
  Bytes magic = read_prefix(in, 2);
  const bool gzip = magic.size() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  PrefixedSource raw(std::move(magic), in);
  std::unique_ptr<GzipSource> inflated;
  if (gzip) {
    inflated = std::make_unique<GzipSource>(raw, name + " (gzip)");
  }
  CpioReader reader(inflated ? static_cast<ByteSource&>(*inflated) : raw, name);
  RamdiskIndex index;
  HardlinkGroups hardlinks;
  while (const std::optional<CpioHeader> h = reader.next()) {
    RamdiskMember m;
    m.mode = h->mode;
    m.uid = h->uid;
    m.gid = h->gid;
    m.mtime = h->mtime;
    m.rdev_major = h->rdev_major;
    m.rdev_minor = h->rdev_minor;
    read_content(reader, *h, options.keep_content.contains(h->name), m, name);
    hardlinks.add(reader, *h, m);
    index.insert_or_assign(h->name, std::move(m));
  }
  hardlinks.share_contents(index);
  return index;
}

std::string file_type_name(std::uint32_t mode) {
  switch (mode & kTypeMask) {
  case kCpioRegular:
    return "file";
  case kCpioDirectory:
    return "dir";
  case kCpioSymlink:
    return "symlink";
  case kCpioCharDevice:
    return "char";
  case kCpioBlockDevice:
    return "block";
  case kCpioFifo:
    return "fifo";
  case kSocket:
    return "socket";
  default:
    return "unknown";
  }
}

} // namespace oci2eif
