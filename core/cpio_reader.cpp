#include "core/cpio_reader.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace oci2eif {
namespace {

constexpr std::size_t kHeaderSize = 110; // "070701" and 13 fields of 8 hex digits
constexpr std::string_view kTrailerName = "TRAILER!!!";

// One field of 8 hex digits, or nullopt if any is not a hex digit.
std::optional<std::uint32_t> hex_field(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 8; ++i) {
    const char c = static_cast<char>(p[i]);
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    v = v << 4 | static_cast<std::uint32_t>(digit);
  }
  return v;
}

} // namespace

std::optional<CpioHeader> CpioReader::next() {
  skip(data_left_, "member data");
  data_left_ = 0;
  if (data_pad_pending_) {
    skip_to_alignment("the padding after member data");
    data_pad_pending_ = false;
  }
  for (;;) {
    if (after_trailer_ && !skip_padding_between_archives()) {
      return std::nullopt;
    }
    after_trailer_ = false;
    CpioHeader h = read_header();
    if (h.name != kTrailerName) {
      data_left_ = h.filesize;
      data_pad_pending_ = true;
      return h;
    }
    skip(h.filesize, "the trailer's data");
    skip_to_alignment("the padding after the trailer");
    after_trailer_ = true;
  }
}

std::size_t CpioReader::read_data(std::span<std::uint8_t> out) {
  const std::size_t want =
      static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), data_left_));
  if (want == 0) {
    return 0;
  }
  const std::size_t n = in_.read(out.first(want));
  if (n == 0) {
    corrupt("ends inside member data");
  }
  offset_ += n;
  data_left_ -= n;
  return n;
}

// Zero bytes between archives (and before the first) are skipped, as the kernel does; the next
// archive must then start at a multiple of 4. False at the input's end.
bool CpioReader::skip_padding_between_archives() {
  std::uint8_t byte = 0;
  for (;;) {
    if (in_.read({&byte, 1}) == 0) {
      return false;
    }
    ++offset_;
    if (byte != 0) {
      break;
    }
  }
  if ((offset_ - 1) % 4 != 0) {
    --offset_;
    corrupt("has an archive that does not start at a multiple of 4 bytes");
  }
  lookahead_ = byte;
  has_lookahead_ = true;
  return true;
}

CpioHeader CpioReader::read_header() {
  const std::uint64_t at = offset_ - (has_lookahead_ ? 1 : 0);
  std::array<std::uint8_t, kHeaderSize> raw{};
  std::size_t filled = 0;
  if (has_lookahead_) {
    raw[0] = lookahead_;
    has_lookahead_ = false;
    filled = 1;
  }
  read_exactly(std::span(raw).subspan(filled), "a member header");
  const std::string magic(raw.begin(), raw.begin() + 6);
  if (magic != "070701" && magic != "070702") {
    offset_ = at;
    corrupt("has no newc cpio header (magic 070701) where one should start");
  }
  std::array<std::uint32_t, 13> f{};
  for (std::size_t i = 0; i < f.size(); ++i) {
    const auto v = hex_field(raw.data() + 6 + 8 * i);
    if (!v) {
      offset_ = at;
      corrupt("has a member header with a field that is not 8 hex digits");
    }
    f[i] = *v;
  }
  const std::uint32_t namesize = f[11];
  if (namesize < 2 || namesize > kMaxCpioNameSize) {
    offset_ = at;
    corrupt("has a member name of " + std::to_string(namesize) + " bytes (1 to " +
            std::to_string(kMaxCpioNameSize) + " with its NUL)");
  }
  std::string name(namesize, '\0');
  read_exactly({reinterpret_cast<std::uint8_t*>(name.data()), name.size()}, "a member name");
  if (name.back() != '\0' || name.find('\0') != namesize - 1) {
    offset_ = at;
    corrupt("has a member name that is not one NUL-terminated string");
  }
  name.pop_back();
  skip_to_alignment("the padding after a member name");
  CpioHeader h;
  h.name = std::move(name);
  h.ino = f[0];
  h.mode = f[1];
  h.uid = f[2];
  h.gid = f[3];
  h.nlink = f[4];
  h.mtime = f[5];
  h.filesize = f[6];
  h.rdev_major = f[9];
  h.rdev_minor = f[10];
  dev_major_ = f[7];
  dev_minor_ = f[8];
  return h;
}

void CpioReader::read_exactly(std::span<std::uint8_t> out, const char* what) {
  std::size_t filled = 0;
  while (filled < out.size()) {
    const std::size_t n = in_.read(out.subspan(filled));
    if (n == 0) {
      corrupt(std::string("ends inside ") + what);
    }
    filled += n;
    offset_ += n;
  }
}

void CpioReader::skip(std::uint64_t n, const char* what) {
  std::array<std::uint8_t, 64 * 1024> buf{};
  while (n > 0) {
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
    read_exactly(std::span(buf).first(chunk), what);
    n -= chunk;
  }
}

void CpioReader::skip_to_alignment(const char* what) {
  skip((4 - offset_ % 4) % 4, what);
}

void CpioReader::corrupt(const std::string& what) const {
  throw Error(ErrorCode::Corrupt,
              name_ + " " + what + " (at byte " + std::to_string(offset_) + ")");
}

} // namespace oci2eif
