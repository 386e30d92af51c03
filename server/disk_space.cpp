#include "server/disk_space.hpp"

#include "core/error.hpp"

#include <cstdio>

namespace oci2eif::server {
namespace {

std::string mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

} // namespace

std::uint64_t available_bytes(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::filesystem::space_info info = std::filesystem::space(dir, ec);
  if (ec) {
    throw Error(code_for(ec),
                "cannot read the free space of " + dir.string() + ": " + ec.message());
  }
  return info.available;
}

std::optional<std::string> low_space_reason(const std::filesystem::path& dir,
                                            std::uint64_t available, std::uint64_t min_free_bytes) {
  if (available >= min_free_bytes) {
    return std::nullopt;
  }
  return "the data directory " + dir.string() + " has " + mib(available) +
         " free, below min_free_mb (" + mib(min_free_bytes) +
         "): free some space (old builds: DELETE /v1/builds/{id})";
}

std::optional<std::string> check_free_space(const std::filesystem::path& dir,
                                            std::uint64_t min_free_bytes) {
  if (min_free_bytes == 0) {
    return std::nullopt; // off: not even a statvfs that could fail
  }
  return low_space_reason(dir, available_bytes(dir), min_free_bytes);
}

} // namespace oci2eif::server
