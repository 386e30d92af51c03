// Builds tar archives in memory for tests (pax format via libarchive), including the entries a
// hostile layer would contain: names with "..", links anywhere, devices, xattrs.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <string>

namespace oci2eif::test {

class TarBuilder {
public:
  TarBuilder();
  ~TarBuilder();
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  TarBuilder& file(const std::string& path, const std::string& content, std::uint32_t mode = 0644,
                   std::uint32_t uid = 0, std::uint32_t gid = 0);
  TarBuilder& dir(const std::string& path, std::uint32_t mode = 0755, std::uint32_t uid = 0,
                  std::uint32_t gid = 0);
  TarBuilder& symlink(const std::string& path, const std::string& target);
  TarBuilder& hardlink(const std::string& path, const std::string& target);
  TarBuilder& device(const std::string& path, bool block, std::uint32_t major, std::uint32_t minor);
  TarBuilder& fifo(const std::string& path);
  TarBuilder& file_with_xattr(const std::string& path, const std::string& content);
  // A header that declares `declared_size` bytes but carries none (the archive ends there).
  TarBuilder& truncated_file(const std::string& path, std::uint64_t declared_size);

  Bytes finish();

  struct Impl;

private:
  Impl* impl_;
};

} // namespace oci2eif::test
