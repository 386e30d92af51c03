// The data directory's free space, and the floor below which the service takes no new work.
//
// A full disk fails builds half-way and can leave SQLite unable to record even that. So below
// `min_free_bytes` (config min_free_mb): /readyz answers 503, POST /v1/builds answers 503
// disk_full with Retry-After, and idle workers leave queued builds queued until space returns.
// A build that still runs out of space fails with code disk_full and publishes nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace oci2eif::server {

// Bytes an unprivileged writer may still use on the filesystem of `dir` (statvfs f_bavail).
// Throws Error(Io) naming `dir` when it cannot be queried.
std::uint64_t available_bytes(const std::filesystem::path& dir);

// Why `available` bytes in `dir` are too few for `min_free_bytes`, naming both in MiB; nullopt
// when there is enough (always, when min_free_bytes is 0).
std::optional<std::string> low_space_reason(const std::filesystem::path& dir,
                                            std::uint64_t available, std::uint64_t min_free_bytes);

// low_space_reason() for what `dir` has now.
std::optional<std::string> check_free_space(const std::filesystem::path& dir,
                                            std::uint64_t min_free_bytes);

} // namespace oci2eif::server
