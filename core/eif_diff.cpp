#include "core/eif_diff.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

namespace oci2eif {
namespace {

using Json = nlohmann::ordered_json;
using Pcrs = std::vector<std::string>;

const Pcrs kBootPcrs{"PCR0", "PCR1"};
const Pcrs kAppPcrs{"PCR0", "PCR2"};
const char* const kLaunchMembers[] = {"cmd", "env", "workdir", "user"};

std::string octal_mode(std::uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

Json member_json(const RamdiskMember& m, bool with_mtime) {
  const std::string type = file_type_name(m.mode);
  Json j{{"type", type},
         {"mode", octal_mode(m.mode)},
         {"owner", std::to_string(m.uid) + ":" + std::to_string(m.gid)}};
  if (type == "file") {
    j["size"] = m.size;
    j["sha256"] = to_hex(m.sha256);
    if (!m.hardlink_of.empty()) {
      j["hardlink_of"] = m.hardlink_of;
    }
  } else if (type == "symlink") {
    j["target"] = m.link_target;
  } else if (type == "char" || type == "block") {
    j["device"] = std::to_string(m.rdev_major) + "," + std::to_string(m.rdev_minor);
  }
  if (with_mtime) {
    j["mtime"] = m.mtime;
  }
  return j;
}

// The one mtime all members share, if they do (as in every image oci2eif builds).
std::optional<std::uint64_t> uniform_mtime(const RamdiskIndex& index) {
  std::optional<std::uint64_t> mtime;
  for (const auto& [name, m] : index) {
    if (mtime && *mtime != m.mtime) {
      return std::nullopt;
    }
    mtime = m.mtime;
  }
  return mtime;
}

// A change between two JSON objects: `fields` names the keys whose values differ (a key one
// side lacks counts as null there), and a/b keep just those.
EifChange changed_fields(std::string subject, const Pcrs& pcrs, std::string path, const Json& a,
                         const Json& b) {
  EifChange c{std::move(subject), pcrs,          std::move(path), "changed", {},
              Json::object(),     Json::object()};
  std::vector<std::string> keys;
  for (const Json* side : {&a, &b}) {
    for (const auto& [key, value] : side->items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        keys.push_back(key);
      }
    }
  }
  for (const std::string& key : keys) {
    const Json va = a.value(key, Json());
    const Json vb = b.value(key, Json());
    if (va != vb) {
      c.fields.push_back(key);
      c.a[key] = va;
      c.b[key] = vb;
    }
  }
  return c;
}

// Where a member's differences are reported: its subject and path; nullopt for members
// compared by other means (the launch settings).
struct Placement {
  std::string subject;
  std::string path;
};
using Placer = std::optional<Placement> (*)(const std::string& name);

std::optional<Placement> bootstrap_placement(const std::string& name) {
  return Placement{"bootstrap", name};
}

std::optional<Placement> application_placement(const std::string& name) {
  for (const char* launch : kLaunchMembers) {
    if (name == launch) {
      return std::nullopt;
    }
  }
  if (name == "rootfs") {
    return Placement{"file", "/"};
  }
  if (name.starts_with("rootfs/")) {
    return Placement{"file", name.substr(6)};
  }
  return Placement{"member", name};
}

void diff_members(const RamdiskIndex& a, const RamdiskIndex& b, const Pcrs& pcrs, Placer place,
                  std::vector<EifChange>& out) {
  const auto mtime_a = uniform_mtime(a);
  const auto mtime_b = uniform_mtime(b);
  const bool per_member_mtime = !mtime_a || !mtime_b;
  if (!per_member_mtime && *mtime_a != *mtime_b) {
    out.push_back({"mtime",
                   pcrs,
                   pcrs == kBootPcrs ? "bootstrap ramdisk" : "application ramdisk",
                   "changed",
                   {},
                   *mtime_a,
                   *mtime_b});
  }
  std::map<std::string, std::pair<const RamdiskMember*, const RamdiskMember*>> both;
  for (const auto& [name, m] : a) {
    both[name].first = &m;
  }
  for (const auto& [name, m] : b) {
    both[name].second = &m;
  }
  for (const auto& [name, pair] : both) {
    const auto where = place(name);
    if (!where) {
      continue;
    }
    const auto& [ma, mb] = pair;
    if (ma == nullptr) {
      out.push_back({where->subject,
                     pcrs,
                     where->path,
                     "added",
                     {},
                     nullptr,
                     member_json(*mb, per_member_mtime)});
    } else if (mb == nullptr) {
      out.push_back({where->subject,
                     pcrs,
                     where->path,
                     "removed",
                     {},
                     member_json(*ma, per_member_mtime),
                     nullptr});
    } else {
      EifChange c =
          changed_fields(where->subject, pcrs, where->path, member_json(*ma, per_member_mtime),
                         member_json(*mb, per_member_mtime));
      if (!c.fields.empty()) {
        out.push_back(std::move(c));
      }
    }
  }
}

// A launch list (core/ramdisk_writer.cpp): NUL-terminated items if there is a NUL, else one
// item per line.
std::vector<std::string> launch_items(const std::string& text) {
  const char end = text.find('\0') != std::string::npos ? '\0' : '\n';
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t stop = text.find(end, start);
    if (stop == std::string::npos) {
      stop = text.size();
    }
    items.push_back(text.substr(start, stop - start));
    start = stop + 1;
  }
  return items;
}

std::optional<std::string> launch_content(const RamdiskIndex& index, const std::string& name) {
  const auto it = index.find(name);
  if (it == index.end()) {
    return std::nullopt;
  }
  return it->second.content;
}

Json items_json(const std::optional<std::string>& content) {
  return content ? Json(launch_items(*content)) : Json();
}

Json line_json(const std::optional<std::string>& content) {
  if (!content) {
    return nullptr;
  }
  std::string line = *content;
  if (!line.empty() && line.back() == '\n') {
    line.pop_back();
  }
  return line;
}

std::string change_kind(const Json& a, const Json& b) {
  return a.is_null() ? "added" : b.is_null() ? "removed" : "changed";
}

void diff_env(const RamdiskIndex& a, const RamdiskIndex& b, std::vector<EifChange>& out) {
  const auto items_a = launch_items(launch_content(a, "env").value_or(""));
  const auto items_b = launch_items(launch_content(b, "env").value_or(""));
  std::map<std::string, std::pair<Json, Json>> by_key;
  auto collect = [&](const std::vector<std::string>& items, Json std::pair<Json, Json>::*side) {
    for (const std::string& item : items) {
      Json& slot = by_key[item.substr(0, item.find('='))].*side;
      slot = slot.is_null() ? Json(item) : Json(slot.get<std::string>() + "\n" + item);
    }
  };
  collect(items_a, &std::pair<Json, Json>::first);
  collect(items_b, &std::pair<Json, Json>::second);
  const std::size_t before = out.size();
  for (const auto& [key, values] : by_key) {
    if (values.first != values.second) {
      out.push_back({"env",
                     kAppPcrs,
                     key,
                     change_kind(values.first, values.second),
                     {},
                     values.first,
                     values.second});
    }
  }
  if (out.size() == before && items_a != items_b) {
    out.push_back({"env", kAppPcrs, "", "reordered", {}, items_a, items_b});
  }
}

void diff_launch(const RamdiskIndex& a, const RamdiskIndex& b, std::vector<EifChange>& out) {
  const Json cmd_a = items_json(launch_content(a, "cmd"));
  const Json cmd_b = items_json(launch_content(b, "cmd"));
  if (cmd_a != cmd_b) {
    out.push_back({"cmd", kAppPcrs, "", change_kind(cmd_a, cmd_b), {}, cmd_a, cmd_b});
  }
  diff_env(a, b, out);
  for (const char* name : {"workdir", "user"}) {
    const Json va = line_json(launch_content(a, name));
    const Json vb = line_json(launch_content(b, name));
    if (va != vb) {
      out.push_back({name, kAppPcrs, "", change_kind(va, vb), {}, va, vb});
    }
  }
}

// Ramdisk bytes that differ with no member difference found, or in a ramdisk that is not cpio:
// say so, so that no PCR change goes unexplained.
void explain_archive(const std::vector<Bytes>& a, const std::vector<Bytes>& b, const Pcrs& pcrs,
                     const std::string& which, bool members_known, std::size_t changes_before,
                     std::vector<EifChange>& out) {
  if (a == b || (members_known && out.size() != changes_before)) {
    return;
  }
  auto hexes = [](const std::vector<Bytes>& v) {
    Json j = Json::array();
    for (const Bytes& d : v) {
      j.push_back(to_hex(d));
    }
    return j;
  };
  out.push_back({"archive", pcrs, which, "changed", {}, hexes(a), hexes(b)});
}

Json kernel_json(const EifInventory& e) {
  return {{"sha384", to_hex(e.kernel_sha384)},
          {"kernel_version", e.info.metadata.build.kernel_version},
          {"operating_system", e.info.metadata.build.operating_system}};
}

void diff_boot(const EifInventory& a, const EifInventory& b, std::vector<EifChange>& out) {
  if (a.kernel_sha384 != b.kernel_sha384) {
    out.push_back(changed_fields("kernel", kBootPcrs, "", kernel_json(a), kernel_json(b)));
  }
  if (a.info.cmdline != b.info.cmdline) {
    out.push_back({"cmdline", kBootPcrs, "", "changed", {}, a.info.cmdline, b.info.cmdline});
  }
  if (a.ramdisk_sha384.size() != b.ramdisk_sha384.size()) {
    out.push_back({"ramdisks",
                   {"PCR0", "PCR2"},
                   "",
                   "changed",
                   {},
                   a.ramdisk_sha384.size(),
                   b.ramdisk_sha384.size()});
  }
  const std::size_t before = out.size();
  diff_members(a.bootstrap, b.bootstrap, kBootPcrs, bootstrap_placement, out);
  auto first = [](const EifInventory& e) {
    const auto end =
        e.ramdisk_sha384.begin() + std::min<std::ptrdiff_t>(1, std::ssize(e.ramdisk_sha384));
    return std::vector<Bytes>(e.ramdisk_sha384.begin(), end);
  };
  const bool known = !a.unreadable_ramdisks.contains(0) && !b.unreadable_ramdisks.contains(0);
  explain_archive(first(a), first(b), kBootPcrs, "bootstrap ramdisk", known, before, out);
}

void diff_application(const EifInventory& a, const EifInventory& b, std::vector<EifChange>& out) {
  const std::size_t before = out.size();
  diff_launch(a.application, b.application, out);
  diff_members(a.application, b.application, kAppPcrs, application_placement, out);
  auto rest = [](const EifInventory& e) {
    const auto begin =
        e.ramdisk_sha384.begin() + std::min<std::ptrdiff_t>(1, std::ssize(e.ramdisk_sha384));
    return std::vector<Bytes>(begin, e.ramdisk_sha384.end());
  };
  auto readable = [](const EifInventory& e) {
    return e.unreadable_ramdisks.empty() ||
           (e.unreadable_ramdisks.size() == 1 && e.unreadable_ramdisks.contains(0));
  };
  const bool known = readable(a) && readable(b);
  explain_archive(rest(a), rest(b), kAppPcrs, "application ramdisks", known, before, out);
}

Json certificate_json(const EifInfo& info) {
  if (!info.signature || !info.measurements.pcr8) {
    return nullptr;
  }
  std::string issuer;
  for (const auto& [key, value] : info.signature->certificate.issuer) {
    issuer += (issuer.empty() ? "" : ", ") + key + "=" + value;
  }
  return {{"pcr8", to_hex(*info.measurements.pcr8)},
          {"issuer", issuer},
          {"not_after", info.signature->certificate.not_after}};
}

void diff_metadata(const EifMetadata& a, const EifMetadata& b, std::vector<EifChange>& out) {
  const std::pair<const char*, std::pair<Json, Json>> fields[] = {
      {"ImageName", {a.image_name, b.image_name}},
      {"ImageVersion", {a.image_version, b.image_version}},
      {"BuildTime", {a.build.build_time, b.build.build_time}},
      {"BuildTool", {a.build.build_tool, b.build.build_tool}},
      {"BuildToolVersion", {a.build.build_tool_version, b.build.build_tool_version}},
      {"OperatingSystem", {a.build.operating_system, b.build.operating_system}},
      {"KernelVersion", {a.build.kernel_version, b.build.kernel_version}},
      {"DockerInfo", {a.docker_info, b.docker_info}},
      {"CustomMetadata", {a.custom_metadata, b.custom_metadata}},
  };
  for (const auto& [name, values] : fields) {
    if (values.first != values.second) {
      out.push_back({"metadata", {}, name, "changed", {}, values.first, values.second});
    }
  }
}

Json measurement_json(const std::optional<Bytes>& a, const std::optional<Bytes>& b) {
  auto hex = [](const std::optional<Bytes>& v) { return v ? Json(to_hex(*v)) : Json(); };
  return {{"a", hex(a)}, {"b", hex(b)}, {"changed", a != b}};
}

} // namespace

bool EifDiff::same_measurements() const {
  return a.pcr0 == b.pcr0 && a.pcr1 == b.pcr1 && a.pcr2 == b.pcr2 && a.pcr8 == b.pcr8;
}

EifDiff diff_eifs(const EifInventory& a, const EifInventory& b) {
  EifDiff diff{a.info.measurements, b.info.measurements, {}};
  diff_boot(a, b, diff.changes);
  diff_application(a, b, diff.changes);
  const Json cert_a = certificate_json(a.info);
  const Json cert_b = certificate_json(b.info);
  if (cert_a != cert_b) {
    diff.changes.push_back(
        {"certificate", {"PCR8"}, "", change_kind(cert_a, cert_b), {}, cert_a, cert_b});
  }
  diff_metadata(a.info.metadata, b.info.metadata, diff.changes);
  return diff;
}

Json diff_json(const EifDiff& diff) {
  Json measurements{{"PCR0", measurement_json(diff.a.pcr0, diff.b.pcr0)},
                    {"PCR1", measurement_json(diff.a.pcr1, diff.b.pcr1)},
                    {"PCR2", measurement_json(diff.a.pcr2, diff.b.pcr2)}};
  if (diff.a.pcr8 || diff.b.pcr8) {
    measurements["PCR8"] = measurement_json(diff.a.pcr8, diff.b.pcr8);
  }
  Json changes = Json::array();
  for (const EifChange& c : diff.changes) {
    Json j{{"subject", c.subject}, {"pcrs", c.pcrs}};
    if (!c.path.empty()) {
      j["path"] = c.path;
    }
    j["change"] = c.change;
    if (!c.fields.empty()) {
      j["fields"] = c.fields;
    }
    j["a"] = c.a;
    j["b"] = c.b;
    changes.push_back(std::move(j));
  }
  return {{"identical", diff.same_measurements()},
          {"measurements", std::move(measurements)},
          {"changes", std::move(changes)}};
}

} // namespace oci2eif
