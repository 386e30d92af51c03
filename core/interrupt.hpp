// How a caller stops a long operation in core/ without core knowing why (a cancelled build, a
// timeout, a shutdown): an `Interrupt` is a function that returns when the work may go on and
// throws (conventionally Error(Cancelled) or Error(Timeout)) when it must stop. core/ calls it
// at points where stopping is safe: every so many bytes streamed or entries read. An empty
// Interrupt never stops anything, so callers that cannot be cancelled pass nothing.
//
// The adapters below check while bytes stream, so a multi-GB layer or ramdisk is stopped within
// a few MiB instead of at its end. The exception the Interrupt throws reaches the caller as
// it was thrown.
#pragma once

#include "core/bytes.hpp"

#include <cstdint>
#include <functional>

namespace oci2eif {

using Interrupt = std::function<void()>;

// How many bytes pass between two checks: small enough that a stop takes effect within a few
// milliseconds of I/O, large enough that the check costs nothing measurable.
inline constexpr std::uint64_t kInterruptEveryBytes = 4 << 20;

// Passes `inner` through, calling `interrupt` before the first read and then once every
// `every_bytes` bytes.
class InterruptingSource final : public ByteSource {
public:
  InterruptingSource(ByteSource& inner, Interrupt interrupt,
                     std::uint64_t every_bytes = kInterruptEveryBytes);
  std::uint64_t size() const override { return inner_.size(); }
  std::size_t read(std::span<std::uint8_t> out) override;
  std::string describe() const override { return inner_.describe(); }

private:
  ByteSource& inner_;
  Interrupt interrupt_;
  std::uint64_t every_;
  std::uint64_t budget_ = 0; // bytes left before the next check
};

// The same for writing: `interrupt` is called before the first write and then once every
// `every_bytes` bytes written to `inner`.
class InterruptingSink final : public ByteSink {
public:
  InterruptingSink(ByteSink& inner, Interrupt interrupt,
                   std::uint64_t every_bytes = kInterruptEveryBytes);
  void write(ByteView data) override;

private:
  ByteSink& inner_;
  Interrupt interrupt_;
  std::uint64_t every_;
  std::uint64_t budget_ = 0;
};

} // namespace oci2eif
