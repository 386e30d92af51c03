#include "core/eif_writer.hpp"

#include "core/crc32.hpp"
#include "core/error.hpp"
#include "core/sha.hpp"

#include <initializer_list>

namespace oci2eif {
namespace {

constexpr std::size_t kChunkSize = 1 << 20;

// The running state of one write: the CRC of everything after the header, the byte count,
// and the three PCR hashers.
class SectionStream {
public:
  explicit SectionStream(PatchableSink& out) : out_(out), buffer_(kChunkSize) {}

  Hasher pcr0{HashAlgorithm::Sha384};
  Hasher pcr1{HashAlgorithm::Sha384};
  Hasher pcr2{HashAlgorithm::Sha384};

  void section_header(SectionType type, std::uint64_t size) {
    const auto bytes = encode_section_header({static_cast<std::uint16_t>(type), 0, size});
    emit(bytes, {});
  }

  void payload(ByteView data, std::initializer_list<Hasher*> measured) { emit(data, measured); }

  void payload(ByteSource& in, std::initializer_list<Hasher*> measured) {
    std::uint64_t left = in.size();
    while (left > 0) {
      const std::size_t want =
          left < buffer_.size() ? static_cast<std::size_t>(left) : buffer_.size();
      const std::size_t n = in.read(std::span(buffer_.data(), want));
      if (n == 0) {
        throw Error(ErrorCode::Io, in.describe() + ": shrank while being read (" +
                                       std::to_string(left) + " bytes missing)");
      }
      emit(ByteView(buffer_.data(), n), measured);
      left -= n;
    }
    std::uint8_t probe = 0;
    if (in.read(std::span(&probe, 1)) != 0) {
      throw Error(ErrorCode::Io, in.describe() + ": grew while being read");
    }
  }

  std::uint32_t crc() const { return crc_.value(); }
  std::uint64_t length() const { return length_; }

private:
  void emit(ByteView data, std::initializer_list<Hasher*> measured) {
    out_.write(data);
    crc_.update(data);
    for (Hasher* h : measured) {
      h->write(data);
    }
    length_ += data.size();
  }

  PatchableSink& out_;
  Bytes buffer_;
  Crc32 crc_;
  std::uint64_t length_ = 0;
};

void validate(const EifContents& c) {
  if (c.kernel == nullptr) {
    throw Error(ErrorCode::InvalidInput, "an EIF needs a kernel");
  }
  if (c.ramdisks.empty()) {
    throw Error(ErrorCode::InvalidInput, "an EIF needs at least one ramdisk");
  }
  const std::size_t sections = 3 + c.ramdisks.size() + (c.signer != nullptr ? 1 : 0);
  if (sections > kEifMaxSections) {
    throw Error(ErrorCode::InvalidInput,
                std::to_string(c.ramdisks.size()) + " ramdisks need " + std::to_string(sections) +
                    " sections; an EIF holds at most " + std::to_string(kEifMaxSections));
  }
  if (c.cmdline.find('\0') != std::string::npos) {
    throw Error(ErrorCode::InvalidInput, "the kernel command line contains a NUL byte");
  }
}

} // namespace

EifWriteResult write_eif(const EifContents& c, PatchableSink& out) {
  validate(c);
  const Bytes metadata = encode_metadata(c.metadata);

  EifWriteResult result;
  auto plan = [&](SectionType type, std::uint64_t size) {
    const std::uint64_t offset =
        result.sections.empty()
            ? kEifHeaderSize
            : result.sections.back().offset + kEifSectionHeaderSize + result.sections.back().size;
    result.sections.push_back({type, offset, size});
  };
  plan(SectionType::Kernel, c.kernel->size());
  plan(SectionType::Cmdline, c.cmdline.size());
  plan(SectionType::Metadata, metadata.size());
  for (ByteSource* r : c.ramdisks) {
    plan(SectionType::Ramdisk, r->size());
  }

  EifHeader header;
  header.flags = c.arch == Arch::Aarch64 ? kEifFlagArm64 : 0;
  header.num_sections = static_cast<std::uint16_t>(result.sections.size() + (c.signer ? 1 : 0));
  out.write(encode_header(header)); // placeholder, patched below

  SectionStream s(out);
  s.section_header(SectionType::Kernel, c.kernel->size());
  s.payload(*c.kernel, {&s.pcr0, &s.pcr1});
  s.section_header(SectionType::Cmdline, c.cmdline.size());
  s.payload(as_bytes(c.cmdline), {&s.pcr0, &s.pcr1});
  s.section_header(SectionType::Metadata, metadata.size());
  s.payload(metadata, {});
  for (std::size_t i = 0; i < c.ramdisks.size(); ++i) {
    s.section_header(SectionType::Ramdisk, c.ramdisks[i]->size());
    if (i == 0) {
      s.payload(*c.ramdisks[i], {&s.pcr0, &s.pcr1});
    } else {
      s.payload(*c.ramdisks[i], {&s.pcr0, &s.pcr2});
    }
  }
  result.measurements.pcr0 = pcr_extend_from_zero(s.pcr0.finish());
  result.measurements.pcr1 = pcr_extend_from_zero(s.pcr1.finish());
  result.measurements.pcr2 = pcr_extend_from_zero(s.pcr2.finish());

  if (c.signer != nullptr) {
    const Bytes signature = c.signer->signature_section(result.measurements.pcr0);
    plan(SectionType::Signature, signature.size());
    s.section_header(SectionType::Signature, signature.size());
    s.payload(signature, {});
    result.measurements.pcr8 = c.signer->pcr8();
  }

  for (std::size_t i = 0; i < result.sections.size(); ++i) {
    header.section_offsets[i] = result.sections[i].offset;
    header.section_sizes[i] = result.sections[i].size;
  }
  auto bytes = encode_header(header);
  const std::uint32_t header_crc = crc32(ByteView(bytes.data(), kEifCrcOffset));
  header.crc32 = crc32_combine(header_crc, s.crc(), s.length());
  bytes = encode_header(header);
  out.write_at(0, bytes);

  result.crc32 = header.crc32;
  result.size = kEifHeaderSize + s.length();
  return result;
}

} // namespace oci2eif
