# Shared by the registry e2e scripts (sourced): the Debian cloud kernel to build with, a
# numbered `build` wrapper around `oci2eif build`, and a blob cache that can be emptied.
# Needs $BIN (the oci2eif binary) and $W (the work directory).
# shellcheck shell=bash
KERNEL=$(ls /boot/vmlinuz-*-cloud-amd64 | head -1)
CONFIG=/boot/config-${KERNEL#/boot/vmlinuz-}
[ -f "$KERNEL" ] && [ -f "$CONFIG" ] || { echo "FAIL: no cloud kernel in /boot"; exit 1; }
n=0
build() { # SOURCE-ARGS...: builds an EIF, prints its PCR JSON on stdout
  n=$((n + 1))
  "$BIN" build "$@" --kernel "$KERNEL" --kernel-config "$CONFIG" --output "$W/eif.$n"
}
CACHE=$W/cache
RC=(--cache-dir "$CACHE")
fresh_cache() { rm -rf "$CACHE"; }
