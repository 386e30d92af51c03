// Deterministic gzip: a ByteSink that deflates into another sink with a fixed level and a fixed
// header (no file name, mtime 0, OS byte 3). The same input gives the same bytes with the same
// zlib version, whatever the thread count (compression is single-threaded). Different zlib
// versions may deflate differently, which is why ramdisks are uncompressed by default.
#pragma once

#include "core/bytes.hpp"

#include <memory>

namespace oci2eif {

class GzipSink final : public ByteSink {
public:
  explicit GzipSink(ByteSink& out, int level = 6);
  ~GzipSink() override;
  GzipSink(const GzipSink&) = delete;
  GzipSink& operator=(const GzipSink&) = delete;

  void write(ByteView data) override;
  // Flushes the compressor and writes the gzip trailer. Must be called once, at the end.
  void finish();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace oci2eif
