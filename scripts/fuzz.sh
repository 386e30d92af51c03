#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for a while and reports what each found.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [--merge] [TARGET...]      (default: 60 s, every target)
#
# Needs clang with libFuzzer: Debian's `clang` package (apt-get install clang). The test suite
# does not: it replays the committed corpora with the normal compiler (CTest fuzz.replay.*).
# A developer or nightly tool, so scripts/install-deps.sh does not install clang.
#
# Builds build-fuzz/ (clang, -DOCI2EIF_FUZZ=ON: libraries and targets under ASan + UBSan with
# libFuzzer's coverage), then runs each target starting from its seeds in tests/fuzz/corpus/<target>.
# New inputs go to build-fuzz/corpus/<target>, never into the repository, unless --merge: then
# the inputs that add coverage are merged into tests/fuzz/corpus/<target> (review and commit
# them). A crash, sanitizer report, non-Error exception or timeout is saved under
# build-fuzz/findings/<target>/ (reproduce: build-fuzz/tests/fuzz/fuzz_<target> FILE), the log
# under build-fuzz/logs/<target>.log. Exits 1 if anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
merge=0
targets=()
for arg in "$@"; do
  case $arg in
  --merge) merge=1 ;;
  [0-9]*) seconds=$arg ;;
  *) targets+=("$arg") ;;
  esac
done
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(sed -n '/^set(OCI2EIF_FUZZ_TARGETS/,/)/p' tests/fuzz/CMakeLists.txt |
    tr -d '()' | grep -v OCI2EIF_FUZZ_TARGETS | tr -s ' ' '\n' | grep .)
fi
command -v clang++ >/dev/null || {
  echo "fuzz.sh: clang++ not found; install Debian's clang package" >&2
  exit 2
}

dir=build-fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DOCI2EIF_FUZZ=ON -DOCI2EIF_WERROR=ON \
  "${launcher[@]}" >/dev/null
cmake --build "$dir" --target fuzz_targets -j "${OCI2EIF_FUZZ_JOBS:-$(nproc)}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$dir/logs"
summary=()
found=0
for t in "${targets[@]}"; do
  bin=$dir/tests/fuzz/fuzz_$t
  seeds=tests/fuzz/corpus/$t
  mkdir -p "$dir/corpus/$t" "$dir/findings/$t"
  echo "== $t: ${seconds}s =="
  start=$(date +%s)
  touch "$dir/logs/$t.started" # findings of earlier runs stay, but are not counted again
  # The scratch directory comes first: libFuzzer writes new inputs to its first corpus directory.
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/findings/$t/" "$dir/corpus/$t" "$seeds" >"$dir/logs/$t.log" 2>&1 ||
    true
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/logs/$t.log" | tail -1)
  units=$(sed -n 's/^stat::new_units_added: *//p' "$dir/logs/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/logs/$t.log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$dir/findings/$t" -type f -newer "$dir/logs/$t.started" | wc -l)
  [ "$crashes" -eq 0 ] || found=1
  summary+=("$(printf '%-18s %8s %12s %10s %8s %8s' "$t" "$took" "${execs:-?}" "${units:-?}" \
    "${cov:-?}" "$crashes")")
  if [ "$merge" -eq 1 ]; then
    "$bin" -merge=1 "$seeds" "$dir/corpus/$t" >>"$dir/logs/$t.log" 2>&1
  fi
done

printf '\n%-18s %8s %12s %10s %8s %8s\n' target seconds execs new_inputs edges findings
printf '%s\n' "${summary[@]}"
[ "$found" -eq 0 ] || echo "findings under $dir/findings/ (logs: $dir/logs/)"
exit "$found"
