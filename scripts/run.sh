#!/usr/bin/env bash
# The main job, until the build service exists: builds oci2eif, shows its help, and assembles
# and describes a sample EIF from the reference inputs in tests/data.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
fi
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)" --target oci2eif
bin=build/server/oci2eif
in=tests/data/eif-vectors/inputs
out=build/sample

"$bin" --help
mkdir -p "$out"
echo
echo "\$ oci2eif assemble --kernel $in/kernel.bin --cmdline ... --ramdisk ... --output $out/sample.eif"
"$bin" assemble --kernel "$in/kernel.bin" --cmdline "$(cat "$in/cmdline.txt")" \
  --ramdisk "$in/ramdisk-bootstrap.cpio" --ramdisk "$in/ramdisk-customer.cpio" \
  --name sample --version 1.0 --output "$out/sample.eif"
echo
echo "\$ oci2eif describe $out/sample.eif"
"$bin" describe "$out/sample.eif"
