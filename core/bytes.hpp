// Byte buffers and the two stream interfaces every format in core/ is written against.
//
// Encoders write to a ByteSink they do not own, decoders read from a ByteSource, so the same
// code serves a file, a hash, a socket or a test buffer (LevelDB's WritableFile idea).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oci2eif {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Lower-case hex of `data`, two digits per byte.
std::string to_hex(ByteView data);

// Accepts an append-only stream of bytes.
class ByteSink {
public:
  virtual ~ByteSink() = default;
  virtual void write(ByteView data) = 0;
};

// A sink that can also overwrite bytes it has already received (to patch a header once the
// payload that follows it is known). `offset + data.size()` must not exceed what was written.
class PatchableSink : public ByteSink {
public:
  virtual void write_at(std::uint64_t offset, ByteView data) = 0;
};

// Returned by ByteSource::size() for streams whose length is only known at the end
// (a decompressor, say).
inline constexpr std::uint64_t kUnknownSize = ~std::uint64_t{0};

// A finite stream of bytes.
class ByteSource {
public:
  virtual ~ByteSource() = default;
  // Total number of bytes the source will yield, or kUnknownSize.
  virtual std::uint64_t size() const = 0;
  // Reads up to out.size() bytes; returns 0 only at the end.
  virtual std::size_t read(std::span<std::uint8_t> out) = 0;
  // A short name for error messages (a path, "cmdline", ...).
  virtual std::string describe() const = 0;
};

// Collects everything in memory. For tests and small sections only.
class VectorSink final : public PatchableSink {
public:
  void write(ByteView data) override { bytes_.insert(bytes_.end(), data.begin(), data.end()); }
  void write_at(std::uint64_t offset, ByteView data) override;
  const Bytes& bytes() const { return bytes_; }

private:
  Bytes bytes_;
};

// Yields bytes held in memory (does not copy them: `data` must outlive the source).
class MemorySource final : public ByteSource {
public:
  MemorySource(ByteView data, std::string name) : data_(data), name_(std::move(name)) {}
  std::uint64_t size() const override { return data_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override;
  std::string describe() const override { return name_; }

private:
  ByteView data_;
  std::size_t pos_ = 0;
  std::string name_;
};

// Bytes that can be read at any offset (a file, a stored artifact): for formats read in more
// than one pass, each pass through a RangeSource.
class PositionalReader {
public:
  virtual ~PositionalReader() = default;
  virtual std::uint64_t size() const = 0;
  // Up to out.size() bytes from `offset`; 0 at or past the end.
  virtual std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
  virtual std::string describe() const = 0;
};

// Yields `length` bytes of `in` from `offset`; an input that ends before them is Corrupt.
class RangeSource final : public ByteSource {
public:
  RangeSource(PositionalReader& in, std::uint64_t offset, std::uint64_t length, std::string name)
      : in_(in), next_(offset), left_(length), length_(length), name_(std::move(name)) {}
  std::uint64_t size() const override { return length_; }
  std::size_t read(std::span<std::uint8_t> out) override;
  std::string describe() const override { return name_; }

private:
  PositionalReader& in_;
  std::uint64_t next_;
  std::uint64_t left_;
  std::uint64_t length_;
  std::string name_;
};

// Reads `in` to its end, discarding the bytes (so a verifying source gets to check them).
void drain(ByteSource& in);

// Reads exactly out.size() bytes or throws Error(Corrupt) naming `what` as truncated.
void read_exact(ByteSource& in, std::span<std::uint8_t> out, const std::string& what);

} // namespace oci2eif
