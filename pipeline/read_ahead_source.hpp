// Reads a ByteSource on a thread of its own, ahead of its reader, so that the cost of making the
// bytes (reading a layer's blob, checking its digest, inflating it, hashing it for its diff_id)
// runs beside the cost of using them (parsing the tar, writing the content spool). A layer is a
// chain of sources, each pulling from the next, so without this one core does all of it in turn.
//
// The reader sees exactly the bytes `in` yields, in order. An exception `in` throws reaches the
// reader at the point of the stream where it happened, after every byte before it.
#pragma once

#include "core/bytes.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

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
  std::size_t read(std::span<std::uint8_t> out) override;
  std::string describe() const override { return name_; }

private:
  struct Chunk {
    Bytes bytes;
    std::size_t filled = 0;
  };

  void produce();
  // Fills `chunk` from `in` until it is full or `in` ends; false at the end of `in`.
  bool fill(Chunk& chunk);
  // The next chunk to read from, or false when the stream has ended. REQUIRES: lock held.
  bool next_chunk(std::unique_lock<std::mutex>& lock);

  ByteSource& in_;
  const std::uint64_t size_;
  const std::string name_;
  const std::size_t chunk_size_;

  std::mutex mutex_;
  std::condition_variable filled_; // a chunk was queued, or the producer ended
  std::condition_variable freed_;  // a chunk was given back, or stopping
  std::deque<Chunk> queued_;       // read ahead, in order
  std::vector<Chunk> free_;        // chunks to fill again
  std::exception_ptr error_;       // what `in` threw, after the queued chunks
  bool ended_ = false;             // the producer has queued its last chunk
  bool stopping_ = false;

  Chunk current_; // the reader's chunk (reader thread only)
  std::size_t offset_ = 0;
  std::thread thread_;
};

} // namespace oci2eif::pipeline
