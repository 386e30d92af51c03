#!/usr/bin/env bash
# Fetches the arm64 parts the aarch64 boot test needs but an amd64 machine cannot apt-install:
# Debian's arm64 cloud kernel (an uncompressed arm64 Image, as Nitro wants) and busybox-static
# for arm64, the userland of the arm64 test image. QEMU (qemu-system-arm) runs them.
#
#   fetch-arm64-parts.sh [DEST]     default: /usr/local/lib/oci2eif-tests/arm64
#
# DEST gets Image, Image.config, busybox and SOURCES (package names, versions, .deb sha256).
# The packages come from this machine's own apt sources and keys, through a private apt state
# (lists and cache in a temporary directory), so the system's dpkg architectures and package
# lists are left as they were. Nothing is fetched when DEST is already complete.
set -euo pipefail
DEST=${1:-/usr/local/lib/oci2eif-tests/arm64}

if [ -s "$DEST/Image" ] && [ -s "$DEST/Image.config" ] && [ -s "$DEST/busybox" ] &&
  [ -s "$DEST/SOURCES" ]; then
  echo "fetch-arm64-parts: $DEST is complete"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-arm64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/x"
apt_opts=(
  -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives"
  -o "Dir::State::status=/dev/null" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "APT::Architecture=arm64" -o "APT::Architectures::=arm64" -o "APT::Sandbox::User=root"
  -q
)
apt-get "${apt_opts[@]}" update >/dev/null
# linux-image-cloud-arm64 is a metapackage: download the versioned kernel it depends on.
kernel_pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-cloud-arm64 |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-arm64\)$/\1/p' | head -n 1)
[ -n "$kernel_pkg" ] || { echo "fetch-arm64-parts: no linux-image-cloud-arm64 in the apt sources" >&2; exit 1; }
(cd "$tmp" && apt-get "${apt_opts[@]}" download "$kernel_pkg" busybox-static >/dev/null)

for deb in "$tmp"/*.deb; do
  dpkg-deb -x "$deb" "$tmp/x"
done
kernel=$(ls "$tmp"/x/boot/vmlinuz-*-cloud-arm64 | head -n 1)
config=$tmp/x/boot/config-${kernel##*/vmlinuz-}
# Debian's arm64 vmlinuz is the plain Image; refuse anything else rather than boot it wrongly.
file -b "$kernel" | grep -q "ARM64 boot executable Image" ||
  { echo "fetch-arm64-parts: $kernel is not an arm64 Image: $(file -b "$kernel")" >&2; exit 1; }
file -b "$tmp/x/bin/busybox" | grep -q "ARM aarch64.*statically linked" ||
  { echo "fetch-arm64-parts: busybox is not a static aarch64 binary" >&2; exit 1; }

mkdir -p "$DEST"
install -m 0644 "$kernel" "$DEST/Image.new"
install -m 0644 "$config" "$DEST/Image.config"
install -m 0755 "$tmp/x/bin/busybox" "$DEST/busybox"
for deb in "$tmp"/*.deb; do
  printf '%s %s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
    "$(sha256sum "$deb" | cut -d' ' -f1)"
done >"$DEST/SOURCES"
mv "$DEST/Image.new" "$DEST/Image" # last: a complete DEST is one with an Image
echo "fetch-arm64-parts: $(tr '\n' ';' <"$DEST/SOURCES") into $DEST"
