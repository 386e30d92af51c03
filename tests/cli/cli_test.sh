#!/usr/bin/env bash
# Drives the oci2eif executable as a user would: eif_build's flags, exit codes, stdout JSON,
# and that a failed command leaves no output file. Expected values come from vectors.json
# (made by AWS's eif_build), never from oci2eif itself.
#   usage: cli_test.sh OCI2EIF VECTORS_DIR
set -euo pipefail
bin=$1
vectors=$2
in=$vectors/inputs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() { # expect DESCRIPTION ACTUAL EXPECTED
  if [ "$2" == "$3" ]; then
    echo "ok   - $1"
  else
    echo "FAIL - $1: got '$2', expected '$3'"
    failures=$((failures + 1))
  fi
}
vector() { python3 -c "import json,sys; d=json.load(open('$vectors/vectors.json'))['vectors']; print(eval(sys.argv[1]))" "$1"; }

common=(--kernel "$in/kernel.bin" --cmdline "$(cat "$in/cmdline.txt")" --build-time 2024-01-01T00:00:00+00:00
  --build-tool eif_build --build-tool-version 0.3.1 --img-os Linux --img-kernel 6.6.79)

# Vector E: three ramdisks, under a hostile umask, TZ and locale.
(umask 077; TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 "$bin" assemble "${common[@]}" \
  --ramdisk "$in/ramdisk-bootstrap.cpio" --ramdisk "$in/ramdisk-customer.cpio" \
  --ramdisk "$in/ramdisk-extra.bin" --output "$work/e.eif" >"$work/e.json" 2>"$work/e.log")
expect "assemble reproduces vector E" "$(sha256sum <"$work/e.eif" | cut -d' ' -f1)" "$(vector "d['e']['sha256']")"
expect "stdout carries PCR0" "$(python3 -c "import json; print(json.load(open('$work/e.json'))['Measurements']['PCR0'])")" \
  "$(vector "d['e']['measurements']['PCR0']")"
expect "output mode is 0644 under umask 077" "$(stat -c %a "$work/e.eif")" "644"

# SOURCE_DATE_EPOCH sets BuildTime when --build-time is absent.
SOURCE_DATE_EPOCH=1704067200 "$bin" assemble --kernel "$in/kernel.bin" --cmdline "$(cat "$in/cmdline.txt")" \
  --build-tool eif_build --build-tool-version 0.3.1 --img-os Linux --img-kernel 6.6.79 \
  --ramdisk "$in/ramdisk-bootstrap.cpio" --output "$work/d.eif" >/dev/null 2>&1
expect "SOURCE_DATE_EPOCH gives vector D's bytes" "$(sha256sum <"$work/d.eif" | cut -d' ' -f1)" "$(vector "d['d']['sha256']")"

# --version: the program's version, as CMakeLists.txt declares it; a subcommand's --version is
# still the image version that goes into the metadata (eif_build's flag).
project_version=$(sed -n 's/^project(oci2eif VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")
expect "--version prints the project's version" "$("$bin" --version)" "oci2eif $project_version"
"$bin" assemble "${common[@]}" --ramdisk "$in/ramdisk-bootstrap.cpio" --version 7.7 \
  --output "$work/v.eif" >/dev/null
expect "assemble --version sets ImageVersion" \
  "$("$bin" describe --json "$work/v.eif" | python3 -c "import json,sys; print(json.load(sys.stdin)['ImageVersion'])")" "7.7"

# describe: nitro-cli JSON, and a precise non-zero exit on a broken file.
"$bin" describe --json "$vectors/vector-c.eif" >"$work/c.json"
expect "describe reports PCR8" "$(python3 -c "import json; print(json.load(open('$work/c.json'))['Measurements']['PCR8'])")" \
  "$(vector "d['c']['measurements']['PCR8']")"
head -c 1000 "$vectors/vector-a.eif" >"$work/short.eif"
set +e
"$bin" describe "$work/short.eif" >/dev/null 2>"$work/err"
rc=$?
set -e
expect "describe of a truncated file exits 1" "$rc" "1"
expect "describe names the problem" "$(cat "$work/err")" \
  "oci2eif: error: $work/short.eif: truncated: section 0 (kernel) declares 262144 bytes but only 440 remain"

# Signing failure: no output file; a key file that is not a key is a bad file (exit 1), not a
# wrong command line (2).
set +e
"$bin" assemble "${common[@]}" --ramdisk "$in/ramdisk-bootstrap.cpio" --output "$work/s.eif" \
  --signing-certificate "$in/signing-cert-p384.pem" --private-key "$in/ramdisk-extra.bin" >/dev/null 2>"$work/err"
rc=$?
set -e
expect "a bad key file exits 1" "$rc" "1"
expect "no output after a failed signing" "$(test -e "$work/s.eif" && echo present || echo absent)" "absent"

# Usage errors come from the argument parser.
set +e
"$bin" assemble --kernel "$in/kernel.bin" >/dev/null 2>&1
rc=$?
set -e
expect "a missing required flag is a usage error" "$([ "$rc" -ne 0 ] && echo nonzero)" "nonzero"

expect "pcr --signing-certificate" "$("$bin" pcr --signing-certificate "$in/signing-cert-p384.pem" | python3 -c 'import json,sys; print(json.load(sys.stdin)["PCR8"])')" \
  "$(vector "d['c']['measurements']['PCR8']")"

if [ "$failures" -ne 0 ]; then
  echo "$failures CLI check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
