#include "pipeline/writer_source.hpp"

#include <algorithm>
#include <exception>
#include <utility>

namespace oci2eif::pipeline {
namespace {

// Thrown through the writer when the reader has stopped; caught in produce() only.
struct ReaderStopped {};

// Collects the writer's bytes into the pipe's chunks and queues each one once it is full.
class PipeSink final : public ByteSink {
public:
  explicit PipeSink(ChunkPipe& pipe) : pipe_(pipe) { next(); }

  void write(ByteView data) override {
    while (!data.empty()) {
      const std::size_t n = std::min(data.size(), chunk_.bytes.size() - chunk_.filled);
      std::copy_n(data.begin(), n,
                  chunk_.bytes.begin() + static_cast<std::ptrdiff_t>(chunk_.filled));
      chunk_.filled += n;
      data = data.subspan(n);
      if (chunk_.filled == chunk_.bytes.size()) {
        pipe_.put(std::move(chunk_));
        next();
      }
    }
  }

  // Queues the last, partly filled chunk.
  void flush() { pipe_.put(std::move(chunk_)); }

private:
  void next() {
    if (!pipe_.take_free(chunk_)) {
      throw ReaderStopped{};
    }
  }

  ChunkPipe& pipe_;
  ChunkPipe::Chunk chunk_;
};

} // namespace

WriterSource::WriterSource(Writer write, std::string name, std::size_t chunk_size,
                           std::size_t depth)
    : name_(std::move(name)), pipe_(chunk_size, depth) {
  thread_ = std::thread([this, write = std::move(write)] { produce(write); });
}

WriterSource::~WriterSource() {
  pipe_.stop();
  thread_.join();
}

void WriterSource::produce(const Writer& write) {
  std::exception_ptr error;
  try {
    PipeSink sink(pipe_);
    try {
      write(sink);
    } catch (const ReaderStopped&) {
      throw;
    } catch (...) {
      error = std::current_exception();
    }
    sink.flush(); // what was written before an error is still read first
  } catch (const ReaderStopped&) {
    return; // nobody reads any more
  }
  pipe_.end(error);
}

} // namespace oci2eif::pipeline
