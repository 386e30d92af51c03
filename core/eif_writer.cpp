#include "core/eif_writer.hpp"

#include "core/crc32.hpp"
#include "core/error.hpp"
#include "core/sha.hpp"

#include <algorithm>
#include <initializer_list>
#include <vector>

namespace oci2eif {
namespace {

constexpr std::size_t kChunkSize = 1 << 20;

// The running state of one write: the CRC of everything after the header, the byte count,
// and the three PCR hashers.
class SectionStream {
public:
  SectionStream(PatchableSink& out, RunAll runner, RamdiskPipe pipe)
      : out_(out), runner_(std::move(runner)), pipe_(std::move(pipe)), current_(kChunkSize),
        next_(kChunkSize) {}

  Hasher pcr0{HashAlgorithm::Sha384};
  Hasher pcr1{HashAlgorithm::Sha384};
  Hasher pcr2{HashAlgorithm::Sha384};

  void section_header(SectionType type, std::uint64_t size) {
    const auto bytes = encode_section_header({static_cast<std::uint16_t>(type), 0, size});
    emit(bytes, {});
  }

  void payload(ByteView data, std::initializer_list<Hasher*> measured) { emit(data, measured); }

  // Streams `in` (exactly in.size() bytes).
  void payload(ByteSource& in, std::initializer_list<Hasher*> measured) {
    const std::uint64_t size = in.size();
    const std::uint64_t streamed = pump(in, size, measured);
    if (streamed != size) {
      throw Error(ErrorCode::Io, in.describe() + ": shrank while being read (" +
                                     std::to_string(size - streamed) + " bytes missing)");
    }
    std::uint8_t probe = 0;
    if (in.read(std::span(&probe, 1)) != 0) {
      throw Error(ErrorCode::Io, in.describe() + ": grew while being read");
    }
  }

  // Streams what `write` makes as one section of `type`: a placeholder section header, patched
  // with the size once `write` is done; the CRC takes the real header (crc32_combine). With a
  // pipe, `write` runs beside and its bytes are pumped as payload() pumps a source; without,
  // each chunk it fills is written and hashed before it goes on. Returns the payload's size.
  std::uint64_t streamed(SectionType type, const RamdiskWriter& write,
                         std::initializer_list<Hasher*> measured) {
    const std::uint64_t header_at = kEifHeaderSize + length_;
    const std::uint32_t crc_before = crc_.value();
    out_.write(encode_section_header({static_cast<std::uint16_t>(type), 0, 0})); // placeholder
    length_ += kEifSectionHeaderSize;
    crc_ = Crc32();
    const std::uint64_t start = length_;
    if (pipe_) {
      const std::unique_ptr<ByteSource> made = pipe_(write);
      pump(*made, kUnknownSize, measured);
    } else {
      ChunkingSink chunks(*this, measured);
      write(chunks);
      chunks.flush();
    }
    const std::uint64_t size = length_ - start;
    const auto header = encode_section_header({static_cast<std::uint16_t>(type), 0, size});
    out_.write_at(header_at, header);
    const std::uint32_t with_header =
        crc32_combine(crc_before, crc32(header), kEifSectionHeaderSize);
    crc_ = Crc32::resume(crc32_combine(with_header, crc_.value(), size));
    return size;
  }

  std::uint32_t crc() const { return crc_.value(); }
  std::uint64_t length() const { return length_; }

private:
  // What streamed() hands the ramdisk's writer: it collects the writes into 1 MiB chunks and
  // passes each on as payload() passes a chunk it read.
  class ChunkingSink final : public ByteSink {
  public:
    ChunkingSink(SectionStream& stream, std::initializer_list<Hasher*> measured)
        : stream_(stream), measured_(measured) {}
    void write(ByteView data) override {
      while (!data.empty()) {
        const std::size_t n = std::min(data.size(), stream_.current_.size() - used_);
        std::copy_n(data.begin(), n, stream_.current_.begin() + static_cast<std::ptrdiff_t>(used_));
        used_ += n;
        data = data.subspan(n);
        if (used_ == stream_.current_.size()) {
          flush();
        }
      }
    }
    void flush() {
      if (used_ > 0) {
        stream_.chunk(ByteView(stream_.current_.data(), used_), measured_);
        used_ = 0;
      }
    }

  private:
    SectionStream& stream_;
    std::vector<Hasher*> measured_;
    std::size_t used_ = 0;
  };

  // Writes `data` (with the CRC) and hashes it for each of `measured`, at the same time.
  void chunk(ByteView data, const std::vector<Hasher*>& measured) {
    std::vector<Task> tasks;
    tasks.reserve(measured.size() + 1);
    tasks.emplace_back([this, data] { emit(data, {}); });
    for (Hasher* h : measured) {
      tasks.emplace_back([h, data] { h->write(data); });
    }
    run_all(runner_, tasks);
  }

  // Streams `in` until it ends, or until `limit` bytes: while one chunk is written (with the
  // CRC) and hashed for each of `measured`, the next is read; each of these is a task of its
  // own. Returns the number of bytes streamed.
  std::uint64_t pump(ByteSource& in, std::uint64_t limit, std::initializer_list<Hasher*> measured) {
    std::uint64_t total = 0;
    std::size_t n = fill(in, current_, limit);
    while (n > 0) {
      total += n;
      const ByteView chunk(current_.data(), n);
      std::size_t next = 0;
      std::vector<Task> tasks;
      tasks.reserve(measured.size() + 2);
      tasks.emplace_back([&] { next = fill(in, next_, limit - total); });
      tasks.emplace_back([this, chunk] { emit(chunk, {}); });
      for (Hasher* h : measured) {
        tasks.emplace_back([h, chunk] { h->write(chunk); });
      }
      run_all(runner_, tasks);
      std::swap(current_, next_);
      n = next;
    }
    return total;
  }

  // Reads `in` into `buffer` until it is full, `in` ends or `limit` bytes; returns the count.
  static std::size_t fill(ByteSource& in, Bytes& buffer, std::uint64_t limit) {
    const std::size_t want =
        limit < buffer.size() ? static_cast<std::size_t>(limit) : buffer.size();
    std::size_t filled = 0;
    while (filled < want) {
      const std::size_t n = in.read(std::span(buffer.data() + filled, want - filled));
      if (n == 0) {
        break;
      }
      filled += n;
    }
    return filled;
  }

  void emit(ByteView data, std::initializer_list<Hasher*> measured) {
    out_.write(data);
    crc_.update(data);
    for (Hasher* h : measured) {
      h->write(data);
    }
    length_ += data.size();
  }

  PatchableSink& out_;
  RunAll runner_;
  RamdiskPipe pipe_;
  Bytes current_; // the chunk being hashed and written
  Bytes next_;    // the chunk being read meanwhile
  Crc32 crc_;
  std::uint64_t length_ = 0;
};

std::size_t ramdisk_count(const EifContents& c) {
  return c.ramdisks.size() + c.streamed_ramdisks.size();
}

void validate(const EifContents& c) {
  if (c.kernel == nullptr) {
    throw Error(ErrorCode::InvalidInput, "an EIF needs a kernel");
  }
  if (ramdisk_count(c) == 0) {
    throw Error(ErrorCode::InvalidInput, "an EIF needs at least one ramdisk");
  }
  const std::size_t sections = 3 + ramdisk_count(c) + (c.signer != nullptr ? 1 : 0);
  if (sections > kEifMaxSections) {
    throw Error(ErrorCode::InvalidInput,
                std::to_string(ramdisk_count(c)) + " ramdisks need " + std::to_string(sections) +
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
  header.num_sections = static_cast<std::uint16_t>(3 + ramdisk_count(c) + (c.signer ? 1 : 0));
  out.write(encode_header(header)); // placeholder, patched below

  SectionStream s(out, c.run_all, c.ramdisk_pipe);
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
  for (std::size_t j = 0; j < c.streamed_ramdisks.size(); ++j) {
    const bool first = c.ramdisks.empty() && j == 0; // the one PCR1 covers
    const RamdiskWriter& write = c.streamed_ramdisks[j];
    plan(SectionType::Ramdisk, first ? s.streamed(SectionType::Ramdisk, write, {&s.pcr0, &s.pcr1})
                                     : s.streamed(SectionType::Ramdisk, write, {&s.pcr0, &s.pcr2}));
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
