#include "pipeline/chunk_pipe.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace oci2eif::pipeline {

ChunkPipe::ChunkPipe(std::size_t chunk_size, std::size_t depth) {
  for (std::size_t i = 0; i < std::max<std::size_t>(depth, 1); ++i) {
    free_.push_back(Chunk{Bytes(std::max<std::size_t>(chunk_size, 1)), 0});
  }
}

bool ChunkPipe::take_free(Chunk& chunk) {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [this] { return stopped_ || !free_.empty(); });
  if (stopped_) {
    return false;
  }
  chunk = std::move(free_.back());
  free_.pop_back();
  chunk.filled = 0;
  return true;
}

void ChunkPipe::put(Chunk chunk) {
  {
    std::lock_guard lock(mutex_);
    if (chunk.filled == 0) {
      free_.push_back(std::move(chunk));
      return;
    }
    queued_.push_back(std::move(chunk));
  }
  filled_.notify_one();
}

void ChunkPipe::end(std::exception_ptr error) {
  {
    std::lock_guard lock(mutex_);
    error_ = std::move(error);
    ended_ = true;
  }
  filled_.notify_one();
}

void ChunkPipe::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  freed_.notify_all();
}

bool ChunkPipe::next_chunk(std::unique_lock<std::mutex>& lock) {
  if (!current_.bytes.empty()) {
    free_.push_back(std::move(current_));
    current_ = Chunk{};
    offset_ = 0; // so that a read after the end finds it again
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

std::size_t ChunkPipe::read(std::span<std::uint8_t> out) {
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
