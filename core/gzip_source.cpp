#include "core/gzip_source.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cstring>
#include <isa-l/igzip_lib.h>

namespace oci2eif {
namespace {

constexpr std::size_t kInputSize = 256 * 1024;
constexpr std::size_t kMaxOutputPerCall = std::size_t{1} << 30; // avail_out is 32-bit

const char* inflate_problem(int rc) {
  switch (rc) {
  case ISAL_INVALID_BLOCK:
    return "invalid deflate block";
  case ISAL_INVALID_SYMBOL:
    return "invalid deflate symbol";
  case ISAL_INVALID_LOOKBACK:
    return "invalid deflate back-reference distance";
  case ISAL_INVALID_WRAPPER:
    return "invalid gzip header";
  case ISAL_UNSUPPORTED_METHOD:
    return "gzip header names a compression method other than deflate";
  case ISAL_INCORRECT_CHECKSUM:
    return "the CRC-32 or length in a gzip trailer does not match the inflated data";
  case ISAL_NEED_DICT:
    return "deflate data needs a preset dictionary";
  default:
    return "inflate failed";
  }
}

// The length of the gzip member header at the start of `in` (RFC 1952 2.3), or 0 if `in` ends
// before the header does.
std::size_t header_length(ByteView in) {
  constexpr std::uint8_t kExtra = 4, kName = 8, kComment = 16, kHeaderCrc = 2;
  std::size_t n = 10;
  if (in.size() < n) {
    return 0;
  }
  const std::uint8_t flags = in[3];
  if ((flags & kExtra) != 0) {
    if (in.size() < n + 2) {
      return 0;
    }
    n += 2 + (in[n] | (std::size_t{in[n + 1]} << 8));
  }
  for (const std::uint8_t field : {kName, kComment}) { // each ends with a NUL
    if ((flags & field) != 0) {
      if (n >= in.size()) {
        return 0;
      }
      const auto nul =
          std::find(in.begin() + static_cast<std::ptrdiff_t>(n), in.end(), std::uint8_t{0});
      if (nul == in.end()) {
        return 0;
      }
      n = static_cast<std::size_t>(nul - in.begin()) + 1;
    }
  }
  n += (flags & kHeaderCrc) != 0 ? 2 : 0;
  return n <= in.size() ? n : 0;
}

} // namespace

// The input is buffered here rather than in ISA-L so that the start of the next member can be
// looked at once a member ends.
struct GzipSource::Impl {
  ByteSource& in;
  inflate_state state{};
  Bytes input = Bytes(kInputSize);
  std::size_t begin = 0; // unconsumed input is input[begin, end)
  std::size_t end = 0;
  bool input_done = false; // `in` has returned 0
  bool finished = false;   // the last member has ended

  explicit Impl(ByteSource& source) : in(source) {}

  std::size_t buffered() const { return end - begin; }

  // Appends what `in` gives after moving the unconsumed bytes to the front; false at its end.
  bool refill() {
    if (input_done) {
      return false;
    }
    std::memmove(input.data(), input.data() + begin, buffered());
    end -= begin;
    begin = 0;
    const std::size_t n = in.read(std::span(input).subspan(end));
    input_done = n == 0;
    end += n;
    return n != 0;
  }

  bool at_member_start() {
    while (buffered() < 2 && refill()) {
    }
    return buffered() >= 2 && input[begin] == 0x1f && input[begin + 1] == 0x8b;
  }

  // Starts inflating the member at input[begin], once its whole header is buffered: ISA-L 2.30
  // computes a header's CRC-16 wrongly when the header arrives in pieces.
  void start_member(const std::string& name) {
    while (header_length(ByteView(input).subspan(begin, buffered())) == 0) {
      if (buffered() == input.size()) {
        throw Error(ErrorCode::Corrupt,
                    name + ": gzip header longer than " + std::to_string(input.size()) + " bytes");
      }
      if (!refill()) {
        throw Error(ErrorCode::Corrupt, name + ": gzip data ends early (truncated)");
      }
    }
    isal_inflate_init(&state);
    state.crc_flag = ISAL_GZIP; // parse the header, check CRC-32 and length in the trailer
  }

  // One isal_inflate call into `out`; returns the bytes it produced.
  std::size_t inflate_into(std::span<std::uint8_t> out, const std::string& name) {
    if (buffered() == 0) {
      refill();
    }
    state.next_in = input.data() + begin;
    state.avail_in = static_cast<std::uint32_t>(buffered());
    state.next_out = out.data();
    const std::size_t offered = std::min(out.size(), kMaxOutputPerCall);
    state.avail_out = static_cast<std::uint32_t>(offered);
    const int rc = isal_inflate(&state);
    if (rc != ISAL_DECOMP_OK) {
      throw Error(ErrorCode::Corrupt, name + ": " + inflate_problem(rc));
    }
    const std::size_t consumed = buffered() - state.avail_in;
    begin += consumed;
    const std::size_t produced = offered - state.avail_out;
    if (state.block_state == ISAL_BLOCK_FINISH) {
      finished = !at_member_start();
      if (!finished) {
        start_member(name);
      }
    } else if (produced == 0 && consumed == 0 && !(buffered() < input.size() && refill())) {
      // ISA-L takes all the input it is given, so no progress means it needs more, and the end
      // of `in` means there is no more.
      throw Error(ErrorCode::Corrupt, name + ": gzip data ends early (truncated)");
    }
    return produced;
  }
};

GzipSource::GzipSource(ByteSource& in, std::string name)
    : impl_(std::make_unique<Impl>(in)), name_(std::move(name)) {
  if (!impl_->refill()) {
    impl_->finished = true; // an empty blob inflates to nothing, as libarchive has it
    return;
  }
  if (!impl_->at_member_start()) {
    throw Error(ErrorCode::Corrupt,
                name_ + ": expected gzip data, but the blob is not in that format");
  }
  impl_->start_member(name_);
}

GzipSource::~GzipSource() = default;

std::size_t GzipSource::read(std::span<std::uint8_t> out) {
  std::size_t produced = 0;
  while (produced == 0 && !impl_->finished && !out.empty()) {
    produced = impl_->inflate_into(out, name_);
  }
  return produced;
}

} // namespace oci2eif
