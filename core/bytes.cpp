#include "core/bytes.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cstring>

namespace oci2eif {

std::string to_hex(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '0');
  for (std::size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

void VectorSink::write_at(std::uint64_t offset, ByteView data) {
  if (offset > bytes_.size() || data.size() > bytes_.size() - offset) {
    throw Error(ErrorCode::Internal, "VectorSink::write_at past the end of the buffer");
  }
  std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(offset));
}

std::size_t MemorySource::read(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), data_.size() - pos_);
  if (n > 0) {
    std::memcpy(out.data(), data_.data() + pos_, n);
  }
  pos_ += n;
  return n;
}

std::size_t RangeSource::read(std::span<std::uint8_t> out) {
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), left_));
  if (want == 0) {
    return 0;
  }
  const std::size_t n = in_.read_at(next_, out.first(want));
  if (n == 0) {
    throw Error(ErrorCode::Corrupt,
                name_ + ": " + in_.describe() + " ends " + std::to_string(left_) + " bytes early");
  }
  next_ += n;
  left_ -= n;
  return n;
}

void drain(ByteSource& in) {
  Bytes buffer(64 * 1024);
  while (in.read(buffer) > 0) {
  }
}

void read_exact(ByteSource& in, std::span<std::uint8_t> out, const std::string& what) {
  std::size_t got = 0;
  while (got < out.size()) {
    const std::size_t n = in.read(out.subspan(got));
    if (n == 0) {
      throw Error(ErrorCode::Corrupt, what + ": truncated: expected " + std::to_string(out.size()) +
                                          " bytes, found " + std::to_string(got));
    }
    got += n;
  }
}

} // namespace oci2eif
