// Runs a writer (a function that pushes bytes into a ByteSink, as the ramdisk writers do) on a
// thread of its own and lets its output be read as a ByteSource. The EIF writer uses it for the
// application ramdisk, so that making the cpio (walking the tree, reading the content spool) runs
// beside hashing it for PCR0 and PCR2 instead of between their chunks.
//
// The reader sees exactly the bytes the writer wrote, in order, then 0 once it returned; an
// exception the writer throws reaches the reader after every byte written before it. A reader
// that stops early (destroys this) makes the writer's next full chunk end it with an exception
// of its own, which nobody sees.
#pragma once

#include "core/bytes.hpp"
#include "pipeline/chunk_pipe.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <thread>

namespace oci2eif::pipeline {

class WriterSource final : public ByteSource {
public:
  using Writer = std::function<void(ByteSink&)>;

  // Starts `write` on the thread at once. `name` is what describe() says.
  WriterSource(Writer write, std::string name, std::size_t chunk_size = std::size_t{1} << 20,
               std::size_t depth = 4);
  // Stops the writer (at its next full chunk) and waits for its thread.
  ~WriterSource() override;
  WriterSource(const WriterSource&) = delete;
  WriterSource& operator=(const WriterSource&) = delete;

  std::uint64_t size() const override { return kUnknownSize; }
  std::size_t read(std::span<std::uint8_t> out) override { return pipe_.read(out); }
  std::string describe() const override { return name_; }

private:
  void produce(const Writer& write);

  const std::string name_;
  ChunkPipe pipe_;
  std::thread thread_;
};

} // namespace oci2eif::pipeline
