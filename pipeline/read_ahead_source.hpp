// Reads a ByteSource on a thread of its own, ahead of its reader, so that the cost of making the
// bytes (reading a layer's blob, checking its digest, inflating it, hashing it for its diff_id)
// runs beside the cost of using them (parsing the tar, writing the content spool). A layer is a
// chain of sources, each pulling from the next, so without this one core does all of it in turn.
//
// The reader sees exactly the bytes `in` yields, in order. An exception `in` throws reaches the
// reader at the point of the stream where it happened, after every byte before it.
#pragma once

#include "core/bytes.hpp"
#include "pipeline/chunk_pipe.hpp"

#include <cstddef>
#include <thread>

namespace oci2eif::pipeline {

class ReadAheadSource final : public ByteSource {
public:
  // Holds `depth` chunks of `chunk_size` bytes: the one being read and those filled ahead of it.
  // `in` is used only by the thread from here on, until this object is destroyed.
  explicit ReadAheadSource(ByteSource& in, std::size_t chunk_size = std::size_t{1} << 20,
                           std::size_t depth = 4);
  // Stops the thread, after the read of `in` it may be in returns.
  ~ReadAheadSource() override;
  ReadAheadSource(const ReadAheadSource&) = delete;
  ReadAheadSource& operator=(const ReadAheadSource&) = delete;

  std::uint64_t size() const override { return size_; }
  std::size_t read(std::span<std::uint8_t> out) override { return pipe_.read(out); }
  std::string describe() const override { return name_; }

private:
  void produce();
  // Fills `chunk` from `in` until it is full or `in` ends; false at the end of `in`.
  bool fill(ChunkPipe::Chunk& chunk);

  ByteSource& in_;
  const std::uint64_t size_;
  const std::string name_;
  ChunkPipe pipe_;
  std::thread thread_;
};

} // namespace oci2eif::pipeline
