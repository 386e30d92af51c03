// SizeLimitedSink: passes bytes on until a limit, then refuses, so an output that would grow
// past what is allowed fails while it is written, not after it filled a disk.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <string>

namespace oci2eif {

class SizeLimitedSink final : public ByteSink {
public:
  // `refusal` is the message of the LimitExceeded error thrown by the write that would take the
  // total past `limit` bytes; nothing of that write reaches `inner`.
  SizeLimitedSink(ByteSink& inner, std::uint64_t limit, std::string refusal);
  void write(ByteView data) override;
  std::uint64_t written() const { return written_; }

private:
  ByteSink& inner_;
  std::uint64_t limit_;
  std::string refusal_;
  std::uint64_t written_ = 0;
};

} // namespace oci2eif
