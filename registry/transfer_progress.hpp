// How far a layer's bytes have come, for a progress display: downloaded from a registry into
// the blob cache, or read to be applied to the root filesystem. Reported by whoever moves the
// bytes (registry downloads, from their own threads; the pipeline's flattening), at most every
// kProgressEveryBytes and once at the end, so that a display costs nothing measurable.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace oci2eif::registry {

inline constexpr std::uint64_t kProgressEveryBytes = 256 << 10;

struct TransferProgress {
  enum class Phase { Download, Apply };
  Phase phase = Phase::Download;
  std::string digest;
  std::string label;       // "layer 2/4": what a person calls it
  std::uint64_t done = 0;  // bytes so far; may go back to 0 when a download starts over
  std::uint64_t total = 0; // the descriptor's size
};

// Called from any thread; must be cheap and thread-safe. Empty: nobody is watching.
using ProgressObserver = std::function<void(const TransferProgress&)>;

inline const char* phase_name(TransferProgress::Phase phase) {
  return phase == TransferProgress::Phase::Download ? "download" : "apply";
}

} // namespace oci2eif::registry
