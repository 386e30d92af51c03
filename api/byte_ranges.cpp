#include "api/byte_ranges.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace oci2eif::api {
namespace {

struct Span {
  std::uint64_t first;
  std::uint64_t last;
};

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Digits only, at most 18 of them (below 2^63): nothing else is a byte position.
std::optional<std::uint64_t> position(std::string_view s) {
  if (s.empty() || s.size() > 18) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

struct Spec {
  bool valid = false;
  std::optional<Span> span; // the bytes it selects of the file; none: unsatisfiable
};

// One range-spec ("A-B", "A-" or "-N") against a file of `size` bytes.
Spec resolve(std::string_view spec, std::uint64_t size) {
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) {
    return {};
  }
  const auto first = position(spec.substr(0, dash));
  const std::string_view tail = spec.substr(dash + 1);
  if (dash == 0) { // suffix: the last N bytes
    const auto n = position(tail);
    if (!n) {
      return {};
    }
    return {true, *n == 0 || size == 0
                      ? std::nullopt
                      : std::optional<Span>({size - std::min(*n, size), size - 1})};
  }
  const auto last = tail.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : position(tail);
  if (!first || !last || *last < *first) {
    return {};
  }
  return {true,
          *first >= size ? std::nullopt : std::optional<Span>({*first, std::min(*last, size - 1)})};
}

} // namespace

RangeAnswer answer_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view kUnit = "bytes=";
  header = trimmed(header);
  if (header.size() < kUnit.size() ||
      !std::equal(kUnit.begin(), kUnit.end(), header.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return {}; // no Range, or a unit this server does not know: ignored (14.2)
  }
  std::vector<Span> spans;
  bool any = false;
  for (std::string_view rest = header.substr(kUnit.size()); !rest.empty();) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trimmed(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) {
      continue; // "a, ,b": empty list elements are allowed (RFC 9110 5.6.1)
    }
    const Spec spec = resolve(item, size);
    if (!spec.valid) {
      return {RangeAnswer::Kind::Unsatisfiable};
    }
    any = true;
    if (spec.span) {
      spans.push_back(*spec.span);
    }
  }
  if (!any || spans.empty()) {
    return {RangeAnswer::Kind::Unsatisfiable};
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.first < b.first; });
  Span merged = spans.front();
  for (const Span& s : spans) {
    if (s.first > merged.last + 1) {
      return {}; // disjoint ranges: the whole file, never more than it
    }
    merged.last = std::max(merged.last, s.last);
  }
  return {RangeAnswer::Kind::Slice, merged.first, merged.last};
}

} // namespace oci2eif::api
