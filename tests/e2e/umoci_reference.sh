#!/usr/bin/env bash
# umoci_reference.sh LAYOUT_DIR TAG OUT.txt
#
# The independent reference for the flattener: unpack LAYOUT_DIR:TAG with `umoci unpack`
# (as root, so owners, devices and setuid bits are real) into a temporary bundle, and write
# the rootfs listing (docs/rootfs-listing.md) of BUNDLE/rootfs to OUT.txt. The bundle is
# removed afterwards, also on failure. Exit status: 0 on success; umoci's error is printed
# and the status is 1 when umoci cannot unpack the image (umoci 0.4.7: no zstd, no Docker
# media types, no platform choice in an index; see docs/rootfs-listing.md).
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 LAYOUT_DIR TAG OUT.txt" >&2
    exit 2
fi
layout=$1 tag=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
listing="$here/../tools/rootfs_listing.py"

command -v umoci >/dev/null || { echo "$0: umoci not installed (apt-get install umoci)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "$0: must run as root (device nodes, owners)" >&2; exit 2; }
[[ -f "$layout/index.json" ]] || { echo "$0: $layout is not an OCI layout (no index.json)" >&2; exit 2; }

# umoci creates parent directories that the tar does not list with 0777 &^ umask, so the
# caller's umask would leak into the reference; 022 gives the 0755 an in-memory tree uses.
umask 022
work=$(mktemp -d "${TMPDIR:-/tmp}/umoci-ref.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! timeout 300 umoci unpack --image "$layout:$tag" "$work/bundle" >"$work/umoci.log" 2>&1; then
    echo "$0: umoci unpack --image $layout:$tag failed:" >&2
    sed 's/^/    /' "$work/umoci.log" >&2
    exit 1
fi
python3 "$listing" "$work/bundle/rootfs" >"$work/listing.txt"
mv "$work/listing.txt" "$out"
