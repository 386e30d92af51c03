#include "registry/reference.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"

#include <cctype>

namespace oci2eif::registry {
namespace {

constexpr std::size_t kMaxReference = 255 + 128 + 72; // name + tag + digest, with room
constexpr std::size_t kMaxRepository = 255;
constexpr std::size_t kMaxTag = 128;

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidInput,
              "invalid image reference '" + std::string(text) + "': " + why);
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: alphanumerics joined by '.', '_', '__' or runs of '-'.
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) {
    return false;
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (is_lower_alnum(c[i])) {
      continue;
    }
    const char s = c[i];
    std::size_t run = 1;
    while (i + run < c.size() && c[i + run] == s) {
      ++run;
    }
    const bool ok = s == '-' || (s == '_' && run <= 2) || (s == '.' && run == 1);
    if (!ok) {
      return false;
    }
    i += run - 1;
  }
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTag || t.front() == '.' || t.front() == '-') {
    return false;
  }
  for (const char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

void check_domain(std::string_view text, std::string_view domain) {
  std::string_view host = domain;
  std::string_view port;
  if (domain.front() == '[') {
    const std::size_t close = domain.find(']');
    if (close == std::string_view::npos) {
      bad(text, "IPv6 address '" + std::string(domain) + "' has no closing ']'");
    }
    for (const char c : domain.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        bad(text, "'" + std::string(domain) + "' is not an IPv6 address");
      }
    }
    host = domain.substr(0, close + 1);
    const std::string_view rest = domain.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      bad(text, "unexpected '" + std::string(rest) + "' after the IPv6 address");
    }
    port = rest.empty() ? rest : rest.substr(1);
    if (!rest.empty() && port.empty()) {
      bad(text, "empty port in registry '" + std::string(domain) + "'");
    }
  } else {
    const std::size_t colon = domain.find(':');
    if (colon != std::string_view::npos) {
      host = domain.substr(0, colon);
      port = domain.substr(colon + 1);
      if (port.empty()) {
        bad(text, "empty port in registry '" + std::string(domain) + "'");
      }
    }
    if (host.empty()) {
      bad(text, "empty registry host");
    }
    for (const char c : host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') {
        bad(text, "registry host '" + std::string(host) + "' contains '" + std::string(1, c) + "'");
      }
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) > 65535 || std::stoul(std::string(port)) == 0) {
      bad(text, "port '" + std::string(port) + "' is not a number from 1 to 65535");
    }
  }
}

// Cuts "@sha256:…" off the end of `rest`; returns the digest ("" when there is none).
std::string take_digest(std::string_view text, std::string_view& rest) {
  const std::size_t at = rest.find('@');
  if (at == std::string_view::npos) {
    return "";
  }
  std::string digest(rest.substr(at + 1));
  rest = rest.substr(0, at);
  if (digest.rfind("sha256:", 0) != 0) {
    bad(text, "digest '" + digest + "' must be sha256:<64 hex digits>");
  }
  try {
    validate_digest(digest, "image reference");
  } catch (const Error&) {
    bad(text, "digest '" + digest + "' must be sha256:<64 lower-case hex digits>");
  }
  return digest;
}

// Cuts the domain off the front of `rest` when the first element looks like one.
std::string take_domain(std::string_view& rest) {
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return "";
  }
  const std::string_view first = rest.substr(0, slash);
  if (first.find_first_of(".:") == std::string_view::npos && first != "localhost" &&
      (first.empty() || first.front() != '[')) {
    return "";
  }
  rest = rest.substr(slash + 1);
  return std::string(first);
}

// Cuts the tag, after the last ':' of the path (which has no ':' otherwise), off `rest`.
std::string take_tag(std::string_view text, std::string_view& rest) {
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    return "";
  }
  std::string tag(rest.substr(colon + 1));
  rest = rest.substr(0, colon);
  if (!valid_tag(tag)) {
    bad(text, "tag '" + tag + "' must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'");
  }
  return tag;
}

void check_path(std::string_view text, std::string_view path) {
  if (path.empty()) {
    bad(text, "no repository name");
  }
  for (std::size_t start = 0;;) {
    const std::size_t end = path.find('/', start);
    const std::string_view c = path.substr(start, end - start);
    if (!valid_component(c)) {
      bad(text, "repository component '" + std::string(c) +
                    "' must be lower-case letters and digits, separated by '.', '_', '__' or '-'");
    }
    if (end == std::string_view::npos) {
      return;
    }
    start = end + 1;
  }
}

} // namespace

Reference Reference::parse(std::string_view text) {
  if (text.empty()) {
    bad(text, "it is empty");
  }
  if (text.size() > kMaxReference) {
    bad(text, "longer than " + std::to_string(kMaxReference) + " characters");
  }
  Reference r;
  std::string_view rest = text;
  r.digest = take_digest(text, rest);
  r.domain = take_domain(rest);
  r.tag = take_tag(text, rest);
  check_path(text, rest);
  if (r.domain.empty()) {
    r.domain = "docker.io";
  } else {
    check_domain(text, r.domain);
  }
  if (r.domain == "index.docker.io" || r.domain == "registry-1.docker.io") {
    r.domain = "docker.io";
  }
  r.repository = std::string(rest);
  if (r.domain == "docker.io" && r.repository.find('/') == std::string::npos) {
    r.repository = "library/" + r.repository;
  }
  if (r.repository.size() > kMaxRepository) {
    bad(text, "repository name longer than " + std::to_string(kMaxRepository) + " characters");
  }
  if (r.tag.empty() && r.digest.empty()) {
    r.tag = "latest";
  }
  return r;
}

std::string Reference::api_host() const {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

std::string Reference::host_name() const {
  if (!domain.empty() && domain.front() == '[') {
    return domain.substr(1, domain.find(']') - 1);
  }
  return domain.substr(0, domain.find(':'));
}

bool Reference::is_loopback() const {
  const std::string h = host_name();
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

std::string Reference::to_string() const {
  std::string s = domain + "/" + repository;
  if (!tag.empty()) {
    s += ":" + tag;
  }
  if (!digest.empty()) {
    s += "@" + digest;
  }
  return s;
}

} // namespace oci2eif::registry
