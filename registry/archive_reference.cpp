#include "registry/archive_reference.hpp"

#include "core/error.hpp"
#include "registry/reference.hpp"

#include <optional>
#include <set>

namespace oci2eif::registry {
namespace {

bool exists(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::exists(path, ec);
}

// "docker.io/library/pyapp:1" for any spelling of that name; nothing for what is no image name
// (a bare tag like "1" is a name too: docker.io/library/1:latest, which rule 3 handles first).
std::optional<std::string> normalised(const std::string& name) {
  try {
    const Reference r = Reference::parse(name);
    return r.domain + "/" + r.repository + ":" + (r.tag.empty() ? "latest" : r.tag);
  } catch (const Error&) {
    return std::nullopt;
  }
}

bool is_bare_tag(const std::string& s) {
  return !s.empty() && s.find_first_of("/:@") == std::string::npos;
}

std::string tag_of(const std::string& name) {
  if (is_bare_tag(name)) {
    return name;
  }
  const auto slash = name.rfind('/');
  const auto colon = name.rfind(':');
  return colon != std::string::npos && (slash == std::string::npos || colon > slash)
             ? name.substr(colon + 1)
             : "";
}

// A name's first component is a registry host when it has a '.' or a ':' or is "localhost",
// as Docker's reference grammar decides.
bool has_host(const std::string& name) {
  const auto slash = name.find('/');
  if (slash == std::string::npos) {
    return false;
  }
  const std::string first = name.substr(0, slash);
  return first == "localhost" || first.find_first_of(".:") != std::string::npos;
}

// An image name with its tag, ":latest" when it has none ("pyapp" is a name here, not a tag).
std::string tagged(const std::string& name) {
  const auto slash = name.rfind('/');
  const auto colon = name.rfind(':');
  const bool has_tag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  return has_tag || name.find('@') != std::string::npos ? name : name + ":latest";
}

// "team/app:1" for "localhost/team/app:1" or "quay.io/team/app:1"; nothing for a name that has
// no host (or is only a tag).
std::optional<std::string> without_host(const std::string& name) {
  if (!has_host(name)) {
    return std::nullopt;
  }
  return tagged(name.substr(name.find('/') + 1));
}

template <typename Match>
std::vector<std::size_t> matching(const std::vector<NamedImage>& images, Match&& match) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < images.size(); ++i) {
    for (const std::string& name : images[i].names) {
      if (match(name)) {
        out.push_back(i);
        break;
      }
    }
  }
  return out;
}

std::string all_names(const std::vector<NamedImage>& images, const std::vector<std::size_t>& of) {
  std::string out;
  for (std::size_t i : of) {
    for (const std::string& name : images[i].names) {
      out += (out.empty() ? "" : ", ") + name;
    }
    if (images[i].names.empty()) {
      out += (out.empty() ? "" : ", ") + std::string("(untagged) ") + images[i].id;
    }
  }
  return out.empty() ? "nothing" : out;
}

} // namespace

ArchiveLocation split_archive_location(const std::string& location) {
  if (exists(location)) {
    return {location, ""};
  }
  for (std::size_t colon = location.find(':'); colon != std::string::npos;
       colon = location.find(':', colon + 1)) {
    if (exists(location.substr(0, colon))) {
      return {location.substr(0, colon), location.substr(colon + 1)};
    }
  }
  const std::size_t first = location.find(':');
  if (first == std::string::npos) {
    return {location, ""};
  }
  return {location.substr(0, first), location.substr(first + 1)};
}

std::vector<std::size_t> images_named(const std::string& wanted,
                                      const std::vector<NamedImage>& images) {
  auto found = matching(images, [&](const std::string& name) { return name == wanted; });
  if (!found.empty()) {
    return found;
  }
  if (const auto want = normalised(wanted)) { // "pyapp" is pyapp:latest before it is a tag
    found = matching(images, [&](const std::string& name) {
      return !is_bare_tag(name) && normalised(name) == want;
    });
  }
  if (found.empty() && !has_host(wanted)) { // podman's "pyapp:1"; "pyapp" before it is a tag
    found = matching(images,
                     [&](const std::string& name) { return without_host(name) == tagged(wanted); });
  }
  if (!found.empty() || !is_bare_tag(wanted)) {
    return found;
  }
  return matching(images, [&](const std::string& name) { return tag_of(name) == wanted; });
}

std::size_t image_named(const std::string& wanted, const std::vector<NamedImage>& images,
                        const std::string& subject) {
  const std::vector<std::size_t> found = images_named(wanted, images);
  std::set<std::string> ids;
  for (std::size_t i : found) {
    ids.insert(images[i].id);
  }
  if (found.empty()) {
    std::vector<std::size_t> every(images.size());
    for (std::size_t i = 0; i < every.size(); ++i) {
      every[i] = i;
    }
    throw Error(ErrorCode::NotFound, subject + ": no image named '" + wanted +
                                         "'; the archive has: " + all_names(images, every));
  }
  if (ids.size() > 1) {
    throw Error(ErrorCode::InvalidInput, subject + ": '" + wanted + "' names " +
                                             std::to_string(ids.size()) + " different images (" +
                                             all_names(images, found) + "); give the full name");
  }
  return found.front();
}

} // namespace oci2eif::registry
