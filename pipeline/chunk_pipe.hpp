// A bounded queue of byte chunks from one producer thread to one reader, in order: what
// ReadAheadSource (the producer reads a source) and WriterSource (the producer is a writer that
// pushes bytes) share. An exception of the producer reaches the reader after every byte the
// producer queued before it. The reader may stop early; the producer then learns it at its next
// take_free() and should end.
#pragma once

#include "core/bytes.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <vector>

namespace oci2eif::pipeline {

class ChunkPipe {
public:
  struct Chunk {
    Bytes bytes;
    std::size_t filled = 0;
  };

  // Holds `depth` chunks of `chunk_size` bytes in all: the reader's and those queued or free.
  ChunkPipe(std::size_t chunk_size, std::size_t depth);

  // Producer: sets `chunk` to an empty one to fill, waiting until the reader gives one back;
  // false (and `chunk` untouched) once the reader has stopped.
  bool take_free(Chunk& chunk);
  // Producer: queues `chunk` for the reader (an empty one goes back to the free ones).
  void put(Chunk chunk);
  // Producer: nothing follows what was queued; `error`, if set, is what the reader gets then.
  void end(std::exception_ptr error);

  // Reader: as ByteSource::read (0 at the end; rethrows the producer's error there).
  std::size_t read(std::span<std::uint8_t> out);
  // Reader: reads no more; a waiting or later take_free() returns false.
  void stop();

private:
  // The next chunk to read from, or false at the end. REQUIRES: lock held.
  bool next_chunk(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable filled_; // a chunk was queued, or the producer ended
  std::condition_variable freed_;  // a chunk was given back, or the reader stopped
  std::deque<Chunk> queued_;       // filled, in order
  std::vector<Chunk> free_;        // to fill again
  std::exception_ptr error_;       // the producer's, after the queued chunks
  bool ended_ = false;             // the producer has queued its last chunk
  bool stopped_ = false;           // the reader wants no more

  Chunk current_; // the reader's chunk (reader only)
  std::size_t offset_ = 0;
};

} // namespace oci2eif::pipeline
