#!/usr/bin/env bash
# A tour of the command line: builds oci2eif, shows its help, assembles and
# describes a sample EIF from the reference inputs in tests/data, then builds an EIF from the
# project's busybox test image with Debian's cloud kernel (a development kernel for trying
# oci2eif and its boot tests, not a production Nitro kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-binary.sh
bin=build/cli/oci2eif
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

kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort | tail -n 1 || true)
if [ -z "$kernel" ]; then
  echo "no /boot/vmlinuz-*-cloud-amd64: run as root so scripts/install-deps.sh installs it"
  exit 0
fi
rm -rf "$out/images" "$out/kernel"
python3 tests/images/make_images.py "$out/images" >/dev/null
mkdir -p "$out/kernel"
cp "$kernel" "$out/kernel/bzImage"
cp "/boot/config-${kernel#/boot/vmlinuz-}" "$out/kernel/bzImage.config"
echo
echo "\$ oci2eif build --oci-layout $out/images/busybox:latest --kernel-dir $out/kernel --output $out/busybox.eif"
"$bin" build --oci-layout "$out/images/busybox:latest" --kernel-dir "$out/kernel" \
  --output "$out/busybox.eif" --pcrs "$out/busybox.pcr.json"
