#!/usr/bin/env bash
# The main job: the oci2eif build service with its embedded defaults (SQLite, a local blob cache
# and artifact store under build/data, listening on 127.0.0.1:8080, no other server needed).
#
# It installs what is missing (as root), builds oci2eif, prepares a kernel bundle from Debian's
# cloud kernel and the project's test images, then runs `oci2eif serve` in the foreground.
# Debian's cloud kernel is a DEVELOPMENT default for trying the service and the boot tests; it is
# not a production Nitro Enclaves kernel (use nitro-cli's blobs or your own with --kernel-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-binary.sh
bin=$PWD/build/cli/oci2eif
data=${OCI2EIF_DATA_DIR:-$PWD/build/data}
listen=${OCI2EIF_LISTEN:-127.0.0.1:8080}
mkdir -p "$data"

kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort | tail -n 1 || true)
if [ -z "$kernel" ]; then
  echo "no /boot/vmlinuz-*-cloud-amd64: run as root so scripts/install-deps.sh installs it" >&2
  exit 1
fi
# Not under $data/kernels: that directory holds the kernels uploaded through the API.
bundle=$data/dev-kernels/debian-cloud
mkdir -p "$bundle"
cp "$kernel" "$bundle/bzImage"
cp "/boot/config-${kernel#/boot/vmlinuz-}" "$bundle/bzImage.config"
kernels=(--kernel-dir "debian-cloud=$bundle")
if [ -d /usr/share/nitro_enclaves/blobs ]; then
  kernels=(--kernel-dir "nitro-cli=/usr/share/nitro_enclaves/blobs" "${kernels[@]}")
fi
if [ ! -d "$data/images/busybox" ]; then
  rm -rf "$data/images"
  python3 tests/images/make_images.py "$data/images" >/dev/null
fi

data=$(cd "$data" && pwd) # --local-images wants an absolute path
cat <<EOT
oci2eif serve on http://$listen (data in $data)
Kernel: Debian's cloud kernel, a development default, not a production Nitro kernel.
Try, from another shell:
  curl -s -X POST http://$listen/v1/builds -H 'Content-Type: application/json' \\
       -d '{"image": "oci-layout:$data/images/busybox:latest"}'
  curl -s "http://$listen/v1/builds/ID?wait=300"          # answers once it has ended
  curl -s -o app.eif http://$listen/v1/builds/ID/artifacts/image.eif
  curl -s http://$listen/v1/builds/ID/artifacts/pcr.json
Or, in one command (what CI runs; docs/ci.md):
  $bin submit oci-layout:$data/images/busybox:latest --server http://$listen --wait --output app.eif
EOT
exec "$bin" serve --listen "$listen" --data-dir "$data" --local-images "$data/images" "${kernels[@]}"
