#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, checks the
# formatting, and runs every test through CTest; then does the same under AddressSanitizer and
# UndefinedBehaviorSanitizer. `--quick` skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
fi
jobs=$(nproc)

run_suite() { # run_suite BUILD_DIR [cmake args...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DOCI2EIF_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 600
}

bash scripts/check-format.sh
run_suite build
if [ "${1:-}" != "--quick" ]; then
  echo "== the same suite under ASan + UBSan =="
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-sanitize -DOCI2EIF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi
