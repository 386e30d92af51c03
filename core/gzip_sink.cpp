#include "core/gzip_sink.hpp"

#include "core/error.hpp"

#include <cstring>
#include <zlib.h>

namespace oci2eif {

struct GzipSink::Impl {
  ByteSink& out;
  z_stream z{};
  gz_header header{};
  Bytes buffer = Bytes(256 * 1024);
  explicit Impl(ByteSink& o) : out(o) {}

  void pump(int flush) {
    int rc = Z_OK;
    do {
      z.next_out = buffer.data();
      z.avail_out = static_cast<uInt>(buffer.size());
      rc = deflate(&z, flush);
      if (rc == Z_STREAM_ERROR) {
        throw Error(ErrorCode::Internal, "zlib deflate failed");
      }
      out.write(ByteView(buffer.data(), buffer.size() - z.avail_out));
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }
};

GzipSink::GzipSink(ByteSink& out, int level) : impl_(std::make_unique<Impl>(out)) {
  // windowBits 15 + 16 selects the gzip wrapper.
  if (deflateInit2(&impl_->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error(ErrorCode::Internal, "zlib deflateInit2 failed");
  }
  impl_->header.os = 3; // Unix, fixed so the bytes do not depend on how zlib was built
  impl_->header.time = 0;
  deflateSetHeader(&impl_->z, &impl_->header);
}

GzipSink::~GzipSink() {
  deflateEnd(&impl_->z);
}

void GzipSink::write(ByteView data) {
  // zlib's avail_in is 32-bit: feed at most 1 GiB at a time.
  while (!data.empty()) {
    const std::size_t n = std::min<std::size_t>(data.size(), 1u << 30);
    impl_->z.next_in = const_cast<Bytef*>(data.data());
    impl_->z.avail_in = static_cast<uInt>(n);
    impl_->pump(Z_NO_FLUSH);
    data = data.subspan(n);
  }
}

void GzipSink::finish() {
  impl_->z.next_in = nullptr;
  impl_->z.avail_in = 0;
  impl_->pump(Z_FINISH);
}

} // namespace oci2eif
