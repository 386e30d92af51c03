// The small subset of CBOR (RFC 8949) that EIF signatures use: unsigned and negative
// integers, byte and text strings, arrays, maps, and the simple values false/true/null.
//
// The encoder writes definite lengths in the shortest form, as serde_cbor does. The decoder is
// for untrusted input: no indefinite lengths, no tags, no floats, bounded nesting, and every
// declared length is checked against the bytes left before anything is allocated.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace oci2eif::cbor {

// --- encoding -------------------------------------------------------------------------------
void put_unsigned(Bytes& out, std::uint64_t value);
void put_negative(Bytes& out, std::int64_t value); // value < 0
void put_bytes(Bytes& out, ByteView bytes);
void put_text(Bytes& out, std::string_view text);
void put_array_head(Bytes& out, std::uint64_t count);
void put_map_head(Bytes& out, std::uint64_t count);
// serde_cbor encodes a Rust Vec<u8> as an array of unsigned integers, not a byte string.
void put_uint_array(Bytes& out, ByteView bytes);

// --- decoding -------------------------------------------------------------------------------
// A map's entries are MapEntry, not std::pair<Value, Value>: clang with libstdc++ checks pair's
// default constructor while Value is still incomplete, and refuses to compile the pair version.
struct MapEntry;

struct Value {
  enum class Kind { Unsigned, Negative, Bytes, Text, Array, Map, False, True, Null };
  Kind kind = Kind::Null;
  std::uint64_t number = 0;      // Unsigned: the value; Negative: -1 - value
  Bytes bytes;                   // Bytes
  std::string text;              // Text
  std::vector<Value> items;      // Array
  std::vector<MapEntry> entries; // Map, in encoded order

  // Map lookup by text key; nullptr when absent or not a map.
  const Value* find(std::string_view key) const;
};

struct MapEntry {
  Value key;
  Value value;
};

const char* kind_name(Value::Kind kind);

// Decodes exactly one item that spans all of `data`. `what` names the input in errors, which
// are Error(Corrupt).
Value decode(ByteView data, const std::string& what);

// Turns serde_cbor's array-of-uints back into bytes; every element must be 0..255.
Bytes uint_array_to_bytes(const Value& value, const std::string& what);

} // namespace oci2eif::cbor
