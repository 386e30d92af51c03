#include "core/ramdisk_writer.hpp"

#include "core/cpio_writer.hpp"
#include "core/enclave_tree.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>

namespace oci2eif {
namespace {

// One archive member: metadata plus either inline bytes or a spool reference.
struct Member {
  FileNode node;
  std::optional<std::string> inline_data;
};

std::uint32_t type_bits(FileType t) {
  switch (t) {
  case FileType::Regular:
    return kCpioRegular;
  case FileType::Directory:
    return kCpioDirectory;
  case FileType::Symlink:
    return kCpioSymlink;
  case FileType::CharDevice:
    return kCpioCharDevice;
  case FileType::BlockDevice:
    return kCpioBlockDevice;
  case FileType::Fifo:
    return kCpioFifo;
  }
  return kCpioRegular;
}

Member text_file(std::string content) {
  Member m;
  m.node.type = FileType::Regular;
  m.node.mode = 0644;
  m.inline_data = std::move(content);
  return m;
}

Member directory(std::uint32_t mode = 0755) {
  Member m;
  m.node.type = FileType::Directory;
  m.node.mode = mode;
  return m;
}

bool has_line_break(const std::string& s) {
  return s.find('\n') != std::string::npos || s.find('\r') != std::string::npos;
}

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

// nitro-cli's format, one item per line, when every item fits on a line (so such images keep
// their bytes and PCRs); else every item NUL-terminated, which holds any item (docs/init.md).
std::string launch_list(const std::vector<std::string>& items) {
  const bool one_line_each = std::none_of(items.begin(), items.end(), has_line_break);
  std::string out;
  for (const std::string& s : items) {
    out += s;
    out += one_line_each ? '\n' : '\0';
  }
  return out;
}

// The application ramdisk's members, visited in bytewise name order: the tree's entries under
// "rootfs" merged with the few members made here (`extras`; where a name is in both, the tree's
// entry wins). Merged, not copied into one map: a copy doubled a large image's memory.
class AppMembers {
public:
  using Visit =
      std::function<void(const std::string& name, const FileNode& node, const std::string* data)>;

  AppMembers(const FileTree& tree, std::map<std::string, Member> extras)
      : tree_(tree), extras_(std::move(extras)) {}

  void each(const Visit& visit) const {
    auto extra = extras_.begin();
    auto visit_extras_before = [&](const std::string* name) {
      for (; extra != extras_.end() && (name == nullptr || extra->first < *name); ++extra) {
        visit(extra->first, extra->second.node,
              extra->second.inline_data ? &*extra->second.inline_data : nullptr);
      }
    };
    std::string name;
    for (const auto& [path, node] : tree_.entries()) {
      name = path.empty() ? std::string("rootfs") : "rootfs/" + path;
      visit_extras_before(&name);
      if (extra != extras_.end() && extra->first == name) {
        ++extra;
      }
      visit(name, node, nullptr);
    }
    visit_extras_before(nullptr);
  }

private:
  const FileTree& tree_;
  std::map<std::string, Member> extras_;
};

// Members of a hardlink group (FileNode::link_group) across the ramdisk.
std::map<std::uint64_t, std::uint32_t> link_group_sizes(const AppMembers& members) {
  std::map<std::uint64_t, std::uint32_t> sizes;
  members.each([&sizes](const std::string&, const FileNode& n, const std::string*) {
    if (n.link_group != 0) {
      ++sizes[n.link_group];
    }
  });
  return sizes;
}

CpioHeader member_header(const std::string& name, const FileNode& n,
                         const RamdiskOptions& options) {
  CpioHeader h;
  h.name = name;
  h.mode = type_bits(n.type) | (n.mode & 07777);
  h.uid = n.uid;
  h.gid = n.gid;
  h.mtime = options.mtime;
  h.rdev_major = n.rdev_major;
  h.rdev_minor = n.rdev_minor;
  h.nlink = n.type == FileType::Directory ? 2 : 1;
  return h;
}

// Writes the members in name order with inode numbers in that order; hardlinks share one inode,
// and only the first of a group carries the content.
void write_members(const AppMembers& members, const ContentSpool& spool,
                   const RamdiskOptions& options, ByteSink& out) {
  std::map<std::uint64_t, std::uint32_t> group_size = link_group_sizes(members);
  std::map<std::uint64_t, std::uint32_t> group_ino;
  CpioWriter cpio(out);
  std::uint32_t next_ino = 1;
  members.each([&](const std::string& name, const FileNode& n, const std::string* data) {
    CpioHeader h = member_header(name, n, options);
    bool first_of_group = true;
    if (n.link_group != 0 && group_size[n.link_group] > 1) {
      h.nlink = group_size[n.link_group];
      const auto [it, inserted] = group_ino.emplace(n.link_group, next_ino);
      first_of_group = inserted;
      h.ino = it->second;
      if (inserted) {
        ++next_ino;
      }
    } else {
      h.ino = next_ino++;
    }
    if (data != nullptr) {
      cpio.add(h, as_bytes(*data));
    } else if (n.type == FileType::Symlink) {
      cpio.add(h, as_bytes(n.link_target));
    } else if (n.type == FileType::Regular && first_of_group && n.content.size > 0) {
      h.filesize = n.content.size;
      auto content = spool.open(n.content);
      cpio.add(h, *content);
    } else {
      cpio.add(h, ByteView());
    }
  });
  cpio.finish();
}

} // namespace

void validate_app_config(const AppConfig& app) {
  if (app.argv.empty() || app.argv.front().empty()) {
    throw Error(ErrorCode::InvalidInput,
                "the image has no command to run: set ENTRYPOINT or CMD in the image, or pass "
                "--entrypoint/--cmd");
  }
  for (const std::string& a : app.argv) {
    if (has_nul(a)) { // execve() could not pass it either
      throw Error(ErrorCode::InvalidInput, "command argument `" + a + "` contains a NUL byte");
    }
  }
  for (const std::string& e : app.env) {
    if (e.find('=') == std::string::npos || e.front() == '=' || has_nul(e)) {
      throw Error(ErrorCode::InvalidInput,
                  "environment entry `" + e + "` must be KEY=VALUE without a NUL byte");
    }
  }
  if (!app.workdir.empty() &&
      (app.workdir.front() != '/' || has_line_break(app.workdir) || has_nul(app.workdir))) {
    throw Error(ErrorCode::InvalidInput,
                "working directory `" + app.workdir + "` must be an absolute path on one line");
  }
  if (has_line_break(app.user) || has_nul(app.user)) {
    throw Error(ErrorCode::InvalidInput, "user `" + app.user + "` must be on one line");
  }
}

void write_app_ramdisk(const FileTree& tree, const ContentSpool& spool, const AppConfig& app,
                       const RamdiskOptions& options, ByteSink& out) {
  validate_app_config(app);
  std::map<std::string, Member> members;
  for (const char* dir : kEnclaveMountPoints) { // the tree's own, if it has them
    members.emplace(std::string("rootfs/") + dir, directory());
  }
  members.emplace("cmd", text_file(launch_list(app.argv)));
  members.emplace("env", text_file(launch_list(app.env)));
  if (!app.workdir.empty()) {
    members.emplace("workdir", text_file(app.workdir + "\n"));
  }
  if (!app.user.empty()) {
    members.emplace("user", text_file(app.user + "\n"));
  }
  write_members(AppMembers(tree, std::move(members)), spool, options, out);
}

void write_bootstrap_ramdisk(ByteSource& init, ByteSource* nsm_ko, const RamdiskOptions& options,
                             ByteSink& out) {
  CpioWriter cpio(out);
  std::uint32_t ino = 1;
  auto header = [&](const char* name, std::uint32_t mode, std::uint64_t size) {
    CpioHeader h;
    h.name = name;
    h.ino = ino++;
    h.mode = mode;
    h.nlink = (mode & kCpioDirectory) == kCpioDirectory && (mode & kCpioRegular) == 0 ? 2 : 1;
    h.mtime = options.mtime;
    h.filesize = size;
    return h;
  };
  cpio.add(header("dev", kCpioDirectory | 0755, 0), ByteView());
  cpio.add(header("init", kCpioRegular | 0755, init.size()), init);
  if (nsm_ko != nullptr) {
    cpio.add(header("nsm.ko", kCpioRegular | 0755, nsm_ko->size()), *nsm_ko);
  }
  cpio.finish();
}

} // namespace oci2eif
