#include "core/eif_format.hpp"

#include "core/error.hpp"

namespace oci2eif {
namespace {

template <typename T> void put_be(std::uint8_t*& p, T value) {
  for (int shift = (sizeof(T) - 1) * 8; shift >= 0; shift -= 8) {
    *p++ = static_cast<std::uint8_t>(value >> shift);
  }
}

template <typename T> T get_be(const std::uint8_t*& p) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<T>((value << 8) | *p++);
  }
  return value;
}

} // namespace

std::string_view arch_name(Arch arch) {
  return arch == Arch::Aarch64 ? "aarch64" : "x86_64";
}

Arch parse_arch(std::string_view name) {
  if (name == "x86_64" || name == "amd64") {
    return Arch::X86_64;
  }
  if (name == "aarch64" || name == "arm64") {
    return Arch::Aarch64;
  }
  throw Error(ErrorCode::InvalidInput,
              "unknown architecture '" + std::string(name) + "' (expected x86_64 or aarch64)");
}

std::string section_type_name(std::uint16_t type) {
  switch (static_cast<SectionType>(type)) {
  case SectionType::Invalid:
    return "invalid";
  case SectionType::Kernel:
    return "kernel";
  case SectionType::Cmdline:
    return "cmdline";
  case SectionType::Ramdisk:
    return "ramdisk";
  case SectionType::Signature:
    return "signature";
  case SectionType::Metadata:
    return "metadata";
  }
  return "type " + std::to_string(type);
}

std::array<std::uint8_t, kEifHeaderSize> encode_header(const EifHeader& h) {
  std::array<std::uint8_t, kEifHeaderSize> out{};
  std::uint8_t* p = out.data();
  for (std::uint8_t b : h.magic) {
    *p++ = b;
  }
  put_be(p, h.version);
  put_be(p, h.flags);
  put_be(p, h.default_memory);
  put_be(p, h.default_cpus);
  put_be(p, h.reserved);
  put_be(p, h.num_sections);
  for (std::uint64_t v : h.section_offsets) {
    put_be(p, v);
  }
  for (std::uint64_t v : h.section_sizes) {
    put_be(p, v);
  }
  put_be(p, h.unused);
  put_be(p, h.crc32);
  return out;
}

EifHeader decode_header(std::span<const std::uint8_t, kEifHeaderSize> bytes) {
  EifHeader h;
  const std::uint8_t* p = bytes.data();
  for (std::uint8_t& b : h.magic) {
    b = *p++;
  }
  h.version = get_be<std::uint16_t>(p);
  h.flags = get_be<std::uint16_t>(p);
  h.default_memory = get_be<std::uint64_t>(p);
  h.default_cpus = get_be<std::uint64_t>(p);
  h.reserved = get_be<std::uint16_t>(p);
  h.num_sections = get_be<std::uint16_t>(p);
  for (std::uint64_t& v : h.section_offsets) {
    v = get_be<std::uint64_t>(p);
  }
  for (std::uint64_t& v : h.section_sizes) {
    v = get_be<std::uint64_t>(p);
  }
  h.unused = get_be<std::uint32_t>(p);
  h.crc32 = get_be<std::uint32_t>(p);
  return h;
}

std::array<std::uint8_t, kEifSectionHeaderSize> encode_section_header(const EifSectionHeader& h) {
  std::array<std::uint8_t, kEifSectionHeaderSize> out{};
  std::uint8_t* p = out.data();
  put_be(p, h.type);
  put_be(p, h.flags);
  put_be(p, h.size);
  return out;
}

EifSectionHeader decode_section_header(std::span<const std::uint8_t, kEifSectionHeaderSize> bytes) {
  EifSectionHeader h;
  const std::uint8_t* p = bytes.data();
  h.type = get_be<std::uint16_t>(p);
  h.flags = get_be<std::uint16_t>(p);
  h.size = get_be<std::uint64_t>(p);
  return h;
}

} // namespace oci2eif
