#include "pipeline/read_ahead_source.hpp"

#include <exception>
#include <utility>

namespace oci2eif::pipeline {

ReadAheadSource::ReadAheadSource(ByteSource& in, std::size_t chunk_size, std::size_t depth)
    : in_(in), size_(in.size()), name_(in.describe()), pipe_(chunk_size, depth) {
  thread_ = std::thread([this] { produce(); });
}

ReadAheadSource::~ReadAheadSource() {
  pipe_.stop();
  thread_.join();
}

bool ReadAheadSource::fill(ChunkPipe::Chunk& chunk) {
  while (chunk.filled < chunk.bytes.size()) {
    const std::size_t n = in_.read(std::span(chunk.bytes).subspan(chunk.filled));
    if (n == 0) {
      return false;
    }
    chunk.filled += n;
  }
  return true;
}

void ReadAheadSource::produce() {
  ChunkPipe::Chunk chunk;
  while (pipe_.take_free(chunk)) {
    std::exception_ptr error;
    bool more = false;
    try {
      more = fill(chunk);
    } catch (...) {
      error = std::current_exception();
    }
    pipe_.put(std::move(chunk));
    if (!more) {
      pipe_.end(error);
      return;
    }
  }
}

} // namespace oci2eif::pipeline
