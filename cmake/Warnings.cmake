# One INTERFACE target carries the project's warning and sanitizer flags, so every
# library and executable opts in by linking it (ccache does the same).
add_library(oci2eif_warnings INTERFACE)
target_compile_options(oci2eif_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
if(OCI2EIF_WERROR)
  target_compile_options(oci2eif_warnings INTERFACE -Werror)
endif()
if(OCI2EIF_SANITIZE)
  target_compile_options(oci2eif_warnings INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(oci2eif_warnings INTERFACE -fsanitize=address,undefined)
endif()
# Fuzzing (tests/fuzz, scripts/fuzz.sh): every library is built with libFuzzer's coverage
# instrumentation and ASan + UBSan, so the fuzzer sees and checks the parsers' own code; the fuzz
# executables add -fsanitize=fuzzer (libFuzzer's main) themselves.
if(OCI2EIF_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "OCI2EIF_FUZZ needs clang with libFuzzer (Debian's clang package): "
                        "configure with CC=clang CXX=clang++")
  endif()
  target_compile_options(oci2eif_warnings INTERFACE
    -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(oci2eif_warnings INTERFACE -fsanitize=address,undefined)
endif()
