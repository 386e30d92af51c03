// The on-disk layout of an AWS Nitro Enclave image file (EIF), version 4. All integers are
// big-endian; there is no padding anywhere (docs/eif-format.md, FORMAT.md §1-3).
//
//   eif      := header section+
//   header   := magic ".eif" | u16 version=4 | u16 flags (bit0: aarch64)
//               | u64 default_mem | u64 default_cpus | u16 reserved | u16 num_sections
//               | u64 section_offsets[32] | u64 section_sizes[32] | u32 unused | u32 crc32
//                                                                               (548 bytes)
//   section  := u16 type | u16 flags=0 | u64 payload_size | payload            (12 + size)
//
// section_offsets[i] is the file offset of section i's 12-byte header; section_sizes[i] is its
// payload size. Sections are written kernel, cmdline, metadata, ramdisk…, [signature].
// The CRC covers header bytes [0, 544) and then every section header and payload to EOF.
#pragma once

#include "core/bytes.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace oci2eif {

inline constexpr std::array<std::uint8_t, 4> kEifMagic = {'.', 'e', 'i', 'f'};
inline constexpr std::uint16_t kEifVersion = 4;
inline constexpr std::size_t kEifHeaderSize = 548;
inline constexpr std::size_t kEifCrcOffset = 544;
inline constexpr std::size_t kEifSectionHeaderSize = 12;
inline constexpr std::size_t kEifMaxSections = 32;
inline constexpr std::uint16_t kEifFlagArm64 = 0x0001;
// Hard-coded by upstream's EifBuilder; informational only (run-enclave ignores them).
inline constexpr std::uint64_t kEifDefaultMemory = 1024ull * 1024 * 1024;
inline constexpr std::uint64_t kEifDefaultCpus = 2;

enum class Arch { X86_64, Aarch64 };
std::string_view arch_name(Arch arch);
// Accepts "x86_64"/"amd64" and "aarch64"/"arm64"; throws InvalidInput otherwise.
Arch parse_arch(std::string_view name);

enum class SectionType : std::uint16_t {
  Invalid = 0,
  Kernel = 1,
  Cmdline = 2,
  Ramdisk = 3,
  Signature = 4,
  Metadata = 5,
};
// "kernel", "cmdline", ... or "type N" for values outside the enum.
std::string section_type_name(std::uint16_t type);

struct EifHeader {
  std::array<std::uint8_t, 4> magic = kEifMagic;
  std::uint16_t version = kEifVersion;
  std::uint16_t flags = 0;
  std::uint64_t default_memory = kEifDefaultMemory;
  std::uint64_t default_cpus = kEifDefaultCpus;
  std::uint16_t reserved = 0;
  std::uint16_t num_sections = 0;
  std::array<std::uint64_t, kEifMaxSections> section_offsets{};
  std::array<std::uint64_t, kEifMaxSections> section_sizes{};
  std::uint32_t unused = 0;
  std::uint32_t crc32 = 0;
};

struct EifSectionHeader {
  std::uint16_t type = 0;
  std::uint16_t flags = 0;
  std::uint64_t size = 0;
};

// Pure encoders and decoders of the fixed-size structures above. Decoders never fail: they
// read whatever the bytes say, and the reader validates the values.
std::array<std::uint8_t, kEifHeaderSize> encode_header(const EifHeader& header);
EifHeader decode_header(std::span<const std::uint8_t, kEifHeaderSize> bytes);
std::array<std::uint8_t, kEifSectionHeaderSize> encode_section_header(const EifSectionHeader& h);
EifSectionHeader decode_section_header(std::span<const std::uint8_t, kEifSectionHeaderSize> bytes);

} // namespace oci2eif
