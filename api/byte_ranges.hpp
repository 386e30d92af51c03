// What an artifact download answers to a Range header (RFC 9110 14.1-14.4), for a file of
// `size` bytes. httplib 0.11's own handling is not used: it answered `bytes=START-` past the end
// with 206 and a Content-Length near 2^64, and any number of ranges with a multipart body (a
// 4.5 KB request asked for 6.8 GB).
//
//   Whole          no Range, a unit other than bytes, or ranges that stay several once
//                  overlapping and adjacent ones are merged: 200 with the file (a server may
//                  ignore Range, 14.2), so an answer is never larger than the file
//   Slice          one range after merging: 206 with bytes first..last
//   Unsatisfiable  no range overlaps the file (`bytes=SIZE-`, `bytes=-0`): 416, with
//                  `Content-Range: bytes */SIZE`; a malformed header is answered the same way
#pragma once

#include <cstdint>
#include <string_view>

namespace oci2eif::api {

struct RangeAnswer {
  enum class Kind { Whole, Slice, Unsatisfiable };
  Kind kind = Kind::Whole;
  std::uint64_t first = 0; // Slice: the first byte
  std::uint64_t last = 0;  // Slice: the last byte (inclusive)
};

RangeAnswer answer_range(std::string_view header, std::uint64_t size);

} // namespace oci2eif::api
