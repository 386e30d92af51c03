#include "cli/commands.hpp"
#include "cli/terminal_text.hpp"
#include "core/eif_describe.hpp"
#include "core/eif_reader.hpp"
#include "core/error.hpp"
#include "core/file_stream.hpp"

#include <cstdio>
#include <map>
#include <memory>
#include <ostream>

namespace oci2eif::cli {
namespace {

// File names match ../shared/eif/eifcheck.py's extract: kernel, cmdline, metadata.json,
// ramdisk-N, signature.cbor.
std::string extract_name(const EifSection& s, std::size_t ramdisk_index) {
  switch (s.type) {
  case SectionType::Kernel:
    return "kernel";
  case SectionType::Cmdline:
    return "cmdline";
  case SectionType::Metadata:
    return "metadata.json";
  case SectionType::Ramdisk:
    return "ramdisk-" + std::to_string(ramdisk_index);
  case SectionType::Signature:
    return "signature.cbor";
  case SectionType::Invalid:
    break;
  }
  return "section";
}

void print_human(const EifInfo& info, std::ostream& out) {
  char crc[16];
  std::snprintf(crc, sizeof crc, "0x%08x", info.header.crc32);
  out << "EIF version:     " << info.header.version << "\n"
      << "Architecture:    " << arch_name(info.arch) << "\n"
      << "Size:            " << info.size << " bytes\n"
      << "CRC32:           " << crc << " (verified)\n"
      << "Image:           " << printable(info.metadata.image_name) << " "
      << printable(info.metadata.image_version) << "\n"
      << "Built:           " << printable(info.metadata.build.build_time) << " by "
      << printable(info.metadata.build.build_tool) << " "
      << printable(info.metadata.build.build_tool_version) << "\n"
      << "Kernel:          " << printable(info.metadata.build.operating_system) << " "
      << printable(info.metadata.build.kernel_version) << "\n"
      << "Cmdline:         " << printable(info.cmdline) << "\n";
  if (info.signature) {
    out << "Signed:          yes, signature verified; certificate valid "
        << info.signature->certificate.not_before << " to " << info.signature->certificate.not_after
        << "\n";
  } else {
    out << "Signed:          no\n";
  }
  out << "PCR0:            " << to_hex(info.measurements.pcr0) << "\n"
      << "PCR1:            " << to_hex(info.measurements.pcr1) << "\n"
      << "PCR2:            " << to_hex(info.measurements.pcr2) << "\n";
  if (info.measurements.pcr8) {
    out << "PCR8:            " << to_hex(*info.measurements.pcr8) << "\n";
  }
  out << "Sections:\n";
  for (std::size_t i = 0; i < info.sections.size(); ++i) {
    const EifSection& s = info.sections[i];
    char line[128];
    std::snprintf(line, sizeof line, "  %2zu  %-10s offset %-12llu size %llu\n", i,
                  section_type_name(static_cast<std::uint16_t>(s.type)).c_str(),
                  static_cast<unsigned long long>(s.offset),
                  static_cast<unsigned long long>(s.size));
    out << line;
  }
}

} // namespace

void run_describe(const DescribeOptions& o, std::ostream& out) {
  FileSource in(o.input);
  EifReadOptions read_options;
  read_options.now_unix = o.now_unix;
  std::map<std::size_t, std::unique_ptr<AtomicFileWriter>> extracted;
  std::size_t ramdisks = 0;
  if (o.extract_dir) {
    std::filesystem::create_directories(*o.extract_dir);
    read_options.payload_sink = [&](std::size_t index, const EifSection& s) -> ByteSink* {
      const std::string name = extract_name(s, s.type == SectionType::Ramdisk ? ramdisks++ : 0);
      auto& writer = extracted[index];
      writer = std::make_unique<AtomicFileWriter>(*o.extract_dir / name);
      return writer.get();
    };
  }
  const EifInfo info = read_eif(in, o.input.string(), read_options);
  // Only a fully validated image is extracted: the files appear after every check passed.
  for (auto& [index, writer] : extracted) {
    writer->commit();
  }
  if (o.json) {
    out << describe_json(info).dump(2) << "\n";
  } else {
    print_human(info, out);
  }
}

} // namespace oci2eif::cli
