#include "core/cbor.hpp"

#include "core/error.hpp"

#include <algorithm>

namespace oci2eif::cbor {
namespace {

enum Major : std::uint8_t {
  kUnsigned = 0,
  kNegative = 1,
  kBytes = 2,
  kText = 3,
  kArray = 4,
  kMap = 5,
  kTag = 6,
  kSimple = 7,
};

constexpr int kMaxDepth = 16;
// Declared counts are only trusted up to this for pre-allocation; a nested hostile count could
// otherwise reserve gigabytes before a single element is read.
constexpr std::uint64_t kMaxReserve = 4096;

void put_head(Bytes& out, Major major, std::uint64_t value) {
  const auto m = static_cast<std::uint8_t>(major << 5);
  if (value < 24) {
    out.push_back(static_cast<std::uint8_t>(m | value));
    return;
  }
  int bytes = 8;
  std::uint8_t info = 27;
  if (value <= 0xff) {
    bytes = 1;
    info = 24;
  } else if (value <= 0xffff) {
    bytes = 2;
    info = 25;
  } else if (value <= 0xffffffffu) {
    bytes = 4;
    info = 26;
  }
  out.push_back(static_cast<std::uint8_t>(m | info));
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

class Decoder {
public:
  Decoder(ByteView data, const std::string& what) : data_(data), what_(what) {}

  Value item(int depth) {
    if (depth > kMaxDepth) {
      fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    const std::uint8_t initial = byte();
    const auto major = static_cast<Major>(initial >> 5);
    const std::uint8_t info = initial & 0x1f;
    if (major == kSimple) {
      return simple(initial);
    }
    if (major == kTag) {
      fail("unexpected tag (initial byte 0x" + hex(initial) + ")");
    }
    const std::uint64_t arg = argument(info);
    Value v;
    switch (major) {
    case kUnsigned:
      v.kind = Value::Kind::Unsigned;
      v.number = arg;
      break;
    case kNegative:
      v.kind = Value::Kind::Negative;
      v.number = arg;
      break;
    case kBytes:
    case kText: {
      const ByteView raw = take(arg);
      if (major == kBytes) {
        v.kind = Value::Kind::Bytes;
        v.bytes.assign(raw.begin(), raw.end());
      } else {
        v.kind = Value::Kind::Text;
        v.text.assign(as_chars(raw));
      }
      break;
    }
    case kArray:
      v.kind = Value::Kind::Array;
      check_count(arg, 1);
      v.items.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(arg, kMaxReserve)));
      for (std::uint64_t i = 0; i < arg; ++i) {
        v.items.push_back(item(depth + 1));
      }
      break;
    case kMap:
      v.kind = Value::Kind::Map;
      check_count(arg, 2);
      v.entries.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(arg, kMaxReserve)));
      for (std::uint64_t i = 0; i < arg; ++i) {
        Value key = item(depth + 1);
        v.entries.push_back({std::move(key), item(depth + 1)});
      }
      break;
    default:
      fail("unreachable major type");
    }
    return v;
  }

  // Major type 7: only false, true and null; floats and other simple values are refused.
  Value simple(std::uint8_t initial) {
    Value v;
    const std::uint8_t info = initial & 0x1f;
    if (info == 20) {
      v.kind = Value::Kind::False;
    } else if (info == 21) {
      v.kind = Value::Kind::True;
    } else if (info == 22) {
      v.kind = Value::Kind::Null;
    } else {
      fail("unsupported simple value or float (initial byte 0x" + hex(initial) + ")");
    }
    return v;
  }

  void expect_end() {
    if (pos_ != data_.size()) {
      fail(std::to_string(data_.size() - pos_) + " unexpected bytes after the CBOR item");
    }
  }

private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorCode::Corrupt,
                what_ + ": malformed CBOR at byte " + std::to_string(pos_) + ": " + why);
  }

  static std::string hex(std::uint8_t b) { return to_hex(ByteView(&b, 1)); }

  std::uint8_t byte() {
    if (pos_ >= data_.size()) {
      fail("unexpected end of data");
    }
    return data_[pos_++];
  }

  std::uint64_t argument(std::uint8_t info) {
    if (info < 24) {
      return info;
    }
    if (info > 27) {
      fail("indefinite or reserved length (additional info " + std::to_string(info) + ")");
    }
    const int n = 1 << (info - 24);
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v = (v << 8) | byte();
    }
    return v;
  }

  ByteView take(std::uint64_t n) {
    if (n > data_.size() - pos_) {
      fail("declared length " + std::to_string(n) + " exceeds the " +
           std::to_string(data_.size() - pos_) + " bytes left");
    }
    const ByteView out = data_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }

  // Every element takes at least one byte, so a count larger than what is left is a lie; this
  // check keeps a hostile length from reserving gigabytes.
  void check_count(std::uint64_t count, std::uint64_t min_bytes_each) {
    const std::uint64_t left = data_.size() - pos_;
    if (count > left / min_bytes_each) {
      fail("declared " + std::to_string(count) + " elements but only " + std::to_string(left) +
           " bytes are left");
    }
  }

  ByteView data_;
  std::size_t pos_ = 0;
  const std::string& what_;
};

} // namespace

void put_unsigned(Bytes& out, std::uint64_t value) {
  put_head(out, kUnsigned, value);
}

void put_negative(Bytes& out, std::int64_t value) {
  put_head(out, kNegative, static_cast<std::uint64_t>(-(value + 1)));
}

void put_bytes(Bytes& out, ByteView bytes) {
  put_head(out, kBytes, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_text(Bytes& out, std::string_view text) {
  put_head(out, kText, text.size());
  out.insert(out.end(), text.begin(), text.end());
}

void put_array_head(Bytes& out, std::uint64_t count) {
  put_head(out, kArray, count);
}
void put_map_head(Bytes& out, std::uint64_t count) {
  put_head(out, kMap, count);
}

void put_uint_array(Bytes& out, ByteView bytes) {
  put_array_head(out, bytes.size());
  for (std::uint8_t b : bytes) {
    put_unsigned(out, b);
  }
}

const Value* Value::find(std::string_view key) const {
  if (kind != Kind::Map) {
    return nullptr;
  }
  for (const auto& [k, v] : entries) {
    if (k.kind == Kind::Text && k.text == key) {
      return &v;
    }
  }
  return nullptr;
}

const char* kind_name(Value::Kind kind) {
  switch (kind) {
  case Value::Kind::Unsigned:
    return "unsigned integer";
  case Value::Kind::Negative:
    return "negative integer";
  case Value::Kind::Bytes:
    return "byte string";
  case Value::Kind::Text:
    return "text string";
  case Value::Kind::Array:
    return "array";
  case Value::Kind::Map:
    return "map";
  case Value::Kind::False:
  case Value::Kind::True:
    return "boolean";
  case Value::Kind::Null:
    return "null";
  }
  return "unknown";
}

Value decode(ByteView data, const std::string& what) {
  Decoder d(data, what);
  Value v = d.item(0);
  d.expect_end();
  return v;
}

Bytes uint_array_to_bytes(const Value& value, const std::string& what) {
  if (value.kind != Value::Kind::Array) {
    throw Error(ErrorCode::Corrupt,
                what + ": expected an array of bytes, found a " + kind_name(value.kind));
  }
  Bytes out;
  out.reserve(value.items.size());
  for (std::size_t i = 0; i < value.items.size(); ++i) {
    const Value& item = value.items[i];
    if (item.kind != Value::Kind::Unsigned || item.number > 255) {
      throw Error(ErrorCode::Corrupt,
                  what + ": element " + std::to_string(i) + " is not a byte value (0..255)");
    }
    out.push_back(static_cast<std::uint8_t>(item.number));
  }
  return out;
}

} // namespace oci2eif::cbor
