#include "pipeline/read_ahead_source.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace oci2eif::pipeline {

ReadAheadSource::ReadAheadSource(ByteSource& in, std::size_t chunk_size, std::size_t depth)
    : in_(in), size_(in.size()), name_(in.describe()), chunk_size_(chunk_size) {
  for (std::size_t i = 0; i < std::max<std::size_t>(depth, 1); ++i) {
    free_.push_back(Chunk{Bytes(chunk_size_), 0});
  }
  thread_ = std::thread([this] { produce(); });
}

ReadAheadSource::~ReadAheadSource() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  freed_.notify_all();
  thread_.join();
}

bool ReadAheadSource::fill(Chunk& chunk) {
  chunk.filled = 0;
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
  bool more = true;
  while (more) {
    Chunk chunk;
    {
      std::unique_lock lock(mutex_);
      freed_.wait(lock, [this] { return stopping_ || !free_.empty(); });
      if (stopping_) {
        return;
      }
      chunk = std::move(free_.back());
      free_.pop_back();
    }
    std::exception_ptr error;
    try {
      more = fill(chunk);
    } catch (...) {
      error = std::current_exception();
      more = false;
    }
    {
      std::lock_guard lock(mutex_);
      if (chunk.filled > 0) {
        queued_.push_back(std::move(chunk));
      }
      error_ = error;
      ended_ = !more;
    }
    filled_.notify_one();
  }
}

bool ReadAheadSource::next_chunk(std::unique_lock<std::mutex>& lock) {
  if (!current_.bytes.empty()) {
    free_.push_back(std::move(current_));
    current_ = Chunk{};
    freed_.notify_one();
  }
  filled_.wait(lock, [this] { return ended_ || !queued_.empty(); });
  if (queued_.empty()) {
    if (error_) {
      std::rethrow_exception(std::exchange(error_, nullptr));
    }
    return false;
  }
  current_ = std::move(queued_.front());
  queued_.pop_front();
  offset_ = 0;
  return true;
}

std::size_t ReadAheadSource::read(std::span<std::uint8_t> out) {
  if (out.empty()) {
    return 0;
  }
  if (offset_ == current_.filled) {
    std::unique_lock lock(mutex_);
    if (!next_chunk(lock)) {
      return 0;
    }
  }
  const std::size_t n = std::min(out.size(), current_.filled - offset_);
  std::memcpy(out.data(), current_.bytes.data() + offset_, n);
  offset_ += n;
  return n;
}

} // namespace oci2eif::pipeline
