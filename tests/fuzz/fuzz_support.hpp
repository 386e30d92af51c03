// What the fuzz targets share. Each target (fuzz_<name>.cpp) defines libFuzzer's entry point,
// LLVMFuzzerTestOneInput, and feeds the bytes to one parser of untrusted input. A parser may
// refuse the bytes only by throwing oci2eif::Error: any other exception, a crash, a sanitizer
// report or a hang is a finding.
//
// The same sources build two ways (tests/fuzz/CMakeLists.txt): with clang and OCI2EIF_FUZZ=ON as
// libFuzzer binaries (scripts/fuzz.sh), and with the normal compiler, linked with
// replay_main.cpp, as the CTest replay of the committed corpora.
#pragma once

#include "core/bytes.hpp"
#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace oci2eif::fuzz {

// Above this the targets return at once: every parser here is bounded well below it (or reads a
// stream), so larger inputs only slow the fuzzer down without reaching new code.
inline constexpr std::size_t kMaxInput = 1 << 20;

// Runs `parse`, accepting an Error as the parser's refusal. Anything else propagates out of
// LLVMFuzzerTestOneInput, which terminates the process: libFuzzer saves the input as a crash.
template <class F> void refusals_only(F&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
}

// A property every accepted input must have, checked even in release builds (assert is not).
inline void require(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

inline ByteView view(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}
inline std::string text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

} // namespace oci2eif::fuzz
