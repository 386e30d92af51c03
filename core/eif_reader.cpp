#include "core/eif_reader.hpp"

#include "core/cose_sign1.hpp"
#include "core/crc32.hpp"
#include "core/eif_signature.hpp"
#include "core/error.hpp"
#include "core/sha.hpp"

#include <algorithm>

namespace oci2eif {
namespace {

constexpr std::size_t kChunkSize = 1 << 20;
constexpr std::size_t kMinSections = 4; // kernel, cmdline, metadata, one ramdisk

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

class Reader {
public:
  Reader(ByteSource& in, const std::string& name, const EifReadOptions& options)
      : in_(in), name_(name), options_(options), buffer_(kChunkSize) {}

  EifInfo run() {
    read_header();
    for (std::size_t i = 0; i < info_.header.num_sections; ++i) {
      read_section(i);
    }
    if (pos_ != in_.size()) {
      fail(std::to_string(in_.size() - pos_) + " trailing bytes after the last section (offset " +
           std::to_string(pos_) + ")");
    }
    check_crc();
    info_.metadata = with_name([&] { return decode_metadata(metadata_); });
    if (options_.measured) {
      info_.measurements = *options_.measured;
      info_.measurements.pcr8.reset(); // the signature's, if any, comes from it below
    } else {
      info_.measurements.pcr0 = pcr_extend_from_zero(pcr0_.finish());
      info_.measurements.pcr1 = pcr_extend_from_zero(pcr1_.finish());
      info_.measurements.pcr2 = pcr_extend_from_zero(pcr2_.finish());
    }
    if (has_signature_) {
      check_signature();
    }
    info_.size = pos_;
    return std::move(info_);
  }

private:
  [[noreturn]] void fail(const std::string& why, ErrorCode code = ErrorCode::Corrupt) const {
    throw Error(code, name_ + ": " + why);
  }

  // Runs a decoder from another file and puts the image's name in front of its errors. Whatever
  // the decoder calls the problem, bad bytes inside an image make the image Corrupt.
  template <typename F> auto with_name(F&& decode) const -> decltype(decode()) {
    try {
      return decode();
    } catch (const Error& e) {
      fail(e.what(), e.code() == ErrorCode::InvalidInput ? ErrorCode::Corrupt : e.code());
    }
  }

  void read_header() {
    if (in_.size() < kEifHeaderSize) {
      fail("truncated: the file is " + std::to_string(in_.size()) +
           " bytes, shorter than the 548-byte EIF header");
    }
    std::array<std::uint8_t, kEifHeaderSize> bytes{};
    read_exact(in_, bytes, name_);
    header_crc_ = crc32(ByteView(bytes.data(), kEifCrcOffset));
    pos_ = kEifHeaderSize;
    EifHeader& h = info_.header = decode_header(bytes);
    if (h.magic != kEifMagic) {
      fail("not an EIF: the magic is " + to_hex(h.magic) + ", expected 2e656966 (\".eif\")");
    }
    if (h.version != kEifVersion) {
      fail("unsupported EIF version " + std::to_string(h.version) +
               "; this reader handles version " + std::to_string(kEifVersion),
           ErrorCode::Unsupported);
    }
    if ((h.flags & ~kEifFlagArm64) != 0) {
      fail("header flags " + hex16(h.flags) +
           " has unknown bits set (only 0x0001, aarch64, is defined)");
    }
    info_.arch = (h.flags & kEifFlagArm64) ? Arch::Aarch64 : Arch::X86_64;
    if (h.reserved != 0 || h.unused != 0) {
      fail("reserved header fields must be zero");
    }
    if (h.num_sections < kMinSections || h.num_sections > kEifMaxSections) {
      fail("the header declares " + std::to_string(h.num_sections) +
           " sections; a valid EIF has between 4 and 32");
    }
    for (std::size_t i = h.num_sections; i < kEifMaxSections; ++i) {
      if (h.section_offsets[i] != 0 || h.section_sizes[i] != 0) {
        fail("section table entry " + std::to_string(i) + " is set, but the header declares only " +
             std::to_string(h.num_sections) + " sections");
      }
    }
  }

  // What may stand at position i of num: kernel, cmdline, metadata, ramdisk…, [signature].
  void check_order(std::size_t i, std::uint16_t type) const {
    const std::size_t last = info_.header.num_sections - 1;
    const auto t = static_cast<SectionType>(type);
    const char* expected = nullptr;
    if (i == 0 && t != SectionType::Kernel) {
      expected = "kernel";
    } else if (i == 1 && t != SectionType::Cmdline) {
      expected = "cmdline";
    } else if (i == 2 && t != SectionType::Metadata) {
      expected = "metadata";
    } else if (i == 3 && t != SectionType::Ramdisk) {
      expected = "ramdisk";
    } else if (i > 3 && i < last && t != SectionType::Ramdisk) {
      expected = "ramdisk";
    } else if (i > 3 && i == last && t != SectionType::Ramdisk && t != SectionType::Signature) {
      expected = "ramdisk or signature";
    }
    if (expected != nullptr) {
      fail("section " + std::to_string(i) + " is a " + section_type_name(type) +
           " section; expected " + expected +
           " (order: kernel, cmdline, metadata, ramdisks, signature)");
    }
  }

  void read_section(std::size_t i) {
    const EifHeader& h = info_.header;
    const std::string where = "section " + std::to_string(i);
    if (in_.size() - pos_ < kEifSectionHeaderSize) {
      fail("truncated: " + where + " should start at offset " + std::to_string(pos_) +
           " but the file ends at " + std::to_string(in_.size()));
    }
    if (h.section_offsets[i] != pos_) {
      fail("section table: " + where + " is listed at offset " +
           std::to_string(h.section_offsets[i]) + " but starts at " + std::to_string(pos_));
    }
    std::array<std::uint8_t, kEifSectionHeaderSize> raw{};
    read_exact(in_, raw, name_);
    crc_.update(raw);
    pos_ += raw.size();
    const EifSectionHeader sh = decode_section_header(raw);
    if (sh.type == 0 || sh.type > static_cast<std::uint16_t>(SectionType::Metadata)) {
      fail(where + " at offset " + std::to_string(pos_ - kEifSectionHeaderSize) + " has " +
           (sh.type == 0 ? "the invalid section type 0"
                         : "unknown section type " + std::to_string(sh.type)));
    }
    check_order(i, sh.type);
    const std::string label = where + " (" + section_type_name(sh.type) + ")";
    if (sh.flags != 0) {
      fail(label + " has flags " + hex16(sh.flags) + "; expected 0");
    }
    if (sh.size > in_.size() - pos_) {
      fail("truncated: " + label + " declares " + std::to_string(sh.size) + " bytes but only " +
           std::to_string(in_.size() - pos_) + " remain");
    }
    if (h.section_sizes[i] != sh.size) {
      fail("section table: " + label + " is listed with " + std::to_string(h.section_sizes[i]) +
           " bytes but holds " + std::to_string(sh.size));
    }
    const auto type = static_cast<SectionType>(sh.type);
    const EifSection section{type, pos_ - kEifSectionHeaderSize, sh.size};
    info_.sections.push_back(section);
    read_payload(i, section, label);
  }

  void read_payload(std::size_t i, const EifSection& section, const std::string& label) {
    ByteSink* extra = options_.payload_sink ? options_.payload_sink(i, section) : nullptr;
    Bytes* keep = nullptr;
    std::vector<ByteSink*> sinks;
    switch (section.type) {
    case SectionType::Kernel:
    case SectionType::Cmdline:
      sinks = {&pcr0_, &pcr1_};
      keep = section.type == SectionType::Cmdline ? &cmdline_ : nullptr;
      break;
    case SectionType::Ramdisk:
      sinks = {&pcr0_, ramdisks_seen_++ == 0 ? &pcr1_ : &pcr2_};
      break;
    case SectionType::Metadata:
      keep = &metadata_;
      break;
    case SectionType::Signature:
      keep = &signature_;
      has_signature_ = true;
      break;
    case SectionType::Invalid:
      break;
    }
    if (options_.measured) {
      sinks.clear(); // the caller's measurements are taken instead
    }
    if (keep != nullptr && section.size > kMaxSmallSectionSize) {
      fail(label + " is " + std::to_string(section.size) + " bytes; at most " +
           std::to_string(kMaxSmallSectionSize) + " are allowed");
    }
    std::uint64_t left = section.size;
    while (left > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer_.size()));
      read_exact(in_, std::span(buffer_.data(), n), name_);
      const ByteView chunk(buffer_.data(), n);
      crc_.update(chunk);
      for (ByteSink* s : sinks) {
        s->write(chunk);
      }
      if (keep != nullptr) {
        keep->insert(keep->end(), chunk.begin(), chunk.end());
      }
      if (extra != nullptr) {
        extra->write(chunk);
      }
      left -= n;
      pos_ += n;
    }
    if (section.type == SectionType::Cmdline) {
      info_.cmdline.assign(cmdline_.begin(), cmdline_.end());
    }
  }

  void check_crc() const {
    const std::uint32_t computed = crc32_combine(header_crc_, crc_.value(), pos_ - kEifHeaderSize);
    if (computed != info_.header.crc32) {
      fail("CRC mismatch: the header records " + hex32(info_.header.crc32) +
           " but the contents give " + hex32(computed) + "; the file is corrupted");
    }
  }

  void check_signature() {
    const std::vector<PcrSignatureEntry> entries =
        with_name([&] { return decode_signature_section(signature_); });
    if (entries.size() != 1) {
      fail("the signature section holds " + std::to_string(entries.size()) +
           " signatures; expected exactly 1");
    }
    const PcrSignatureEntry& entry = entries.front();
    const Certificate cert = with_name(
        [&] { return Certificate::from_pem(entry.signing_certificate, "signature section"); });
    const CoseSign1 cose = cose_sign1_parse(entry.signature, name_ + ": COSE_Sign1 signature");
    if (!cose_sign1_verify(cose, cert)) {
      fail("the COSE signature does not verify with the signing certificate's public key");
    }
    const PcrInfo signed_pcr =
        with_name([&] { return decode_pcr_info(cose.payload, "signed payload"); });
    if (signed_pcr.register_index != 0) {
      fail("the signature covers PCR" + std::to_string(signed_pcr.register_index) +
           "; expected PCR0");
    }
    if (signed_pcr.register_value != info_.measurements.pcr0) {
      fail("the signature covers PCR0 " + to_hex(signed_pcr.register_value) +
           " but the image's PCR0 is " + to_hex(info_.measurements.pcr0));
    }
    EifSignatureReport report;
    report.certificate_pem = entry.signing_certificate;
    report.certificate = cert.info();
    report.not_before_unix = with_name([&] { return cert.not_before_unix(); });
    report.not_after_unix = with_name([&] { return cert.not_after_unix(); });
    if (options_.now_unix && *options_.now_unix < report.not_before_unix) {
      fail("the signing certificate is not valid before " + report.certificate.not_before);
    }
    if (options_.now_unix && *options_.now_unix > report.not_after_unix) {
      fail("the signing certificate expired on " + report.certificate.not_after);
    }
    info_.measurements.pcr8 = pcr8_of(cert);
    info_.signature = std::move(report);
  }

  ByteSource& in_;
  const std::string& name_;
  const EifReadOptions& options_;
  Bytes buffer_;
  EifInfo info_;
  std::uint64_t pos_ = 0;
  std::uint32_t header_crc_ = 0;
  Crc32 crc_;
  Hasher pcr0_{HashAlgorithm::Sha384};
  Hasher pcr1_{HashAlgorithm::Sha384};
  Hasher pcr2_{HashAlgorithm::Sha384};
  std::size_t ramdisks_seen_ = 0;
  Bytes cmdline_, metadata_, signature_;
  bool has_signature_ = false;
};

} // namespace

EifInfo read_eif(ByteSource& in, const std::string& name, const EifReadOptions& options) {
  return Reader(in, name, options).run();
}

} // namespace oci2eif
