#!/usr/bin/env bash
# Installs every Debian 12 package oci2eif needs to build and test.
# Idempotent and non-interactive; run as root. Set OCI2EIF_DEPS_MINIMAL=1 to skip the
# packages only the test suite needs (QEMU, a kernel to boot, umoci, cross compiler, ...).
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build pkg-config git ca-certificates
  libcpp-httplib-dev libcurl4-openssl-dev nlohmann-json3-dev libssl-dev
  libarchive-dev libspdlog-dev libfmt-dev doctest-dev libsqlite3-dev libpq-dev libcli11-dev
  clang-format python3 openssl zlib1g-dev libisal-dev help2man
  libp11-dev p11-kit-modules
)
# Only for tests and development: a real kernel and QEMU to boot EIFs (and QEMU for aarch64),
# busybox as the test images' userland, umoci as the independent layer unpacker, the aarch64
# cross compiler for init, zstd for zstd layers; the registry lab (docker-registry, skopeo,
# htpasswd, jq, curl); systemd for `systemd-analyze verify` of the deploy unit; python3-yaml to
# read the rendered Kubernetes manifests; file for fetch-arm64-parts.sh; PostgreSQL 15 and
# OpenStack Swift with its s3api middleware, the real servers of the scale-out backends' tests
# (tests/services/postgres.py, tests/services/s3.py); podman and runc to build, run, save and push
# images as users do (tests/e2e/podman_e2e.py) and to build and run the Dockerfile, on a Debian
# base debootstrap makes (tests/e2e/dockerfile_e2e.py); chromium renders the HTML pages headless
# (tests/e2e/pages_e2e.py). SoftHSM2 is the PKCS#11 token of the signing tests, OpenSC's
# pkcs11-tool makes a key inside it and the OpenSSL pkcs11 engine its certificate
# (tests/e2e/pkcs11_e2e.py).
test_pkgs=(
  qemu-system-x86 qemu-system-arm linux-image-cloud-amd64 busybox-static umoci cpio zstd time
  docker-registry skopeo apache2-utils jq curl systemd file python3-yaml iproute2
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross postgresql-15
  swift swift-proxy swift-account swift-container swift-object podman runc debootstrap chromium
  softhsm2 opensc libengine-pkcs11-openssl
)
# kubectl renders deploy/kubernetes (kustomize); Debian's kubernetes-client only when no kubectl is
# on PATH, as another package's kubectl would conflict with it. node and npm run the manifests'
# offline schema check (deploy.kubernetes installs its npm packages itself).
command -v kubectl >/dev/null || test_pkgs+=(kubernetes-client)
command -v node >/dev/null || test_pkgs+=(nodejs)
command -v npm >/dev/null || test_pkgs+=(npm)
if [ "${OCI2EIF_DEPS_MINIMAL:-0}" != "1" ]; then
  build_pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${build_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# promtool checks /metrics (serve.e2e). It comes only in Debian's prometheus package, whose own
# server must not start on a test machine: policy-rc.d forbids that while it is installed.
if [ "${OCI2EIF_DEPS_MINIMAL:-0}" != "1" ] && ! command -v promtool >/dev/null; then
  guard=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard"
    chmod +x "$guard"
    trap 'rm -f "$guard"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
  [ -z "$guard" ] || rm -f "$guard"
  trap - EXIT
fi
echo "install-deps: all ${#build_pkgs[@]} packages present"
if [ "${OCI2EIF_DEPS_MINIMAL:-0}" != "1" ]; then
  # The arm64 kernel and busybox for the aarch64 boot test: not installable on amd64. A failure
  # here (an apt source that cannot serve arm64, say) must not stop the rest: that one test
  # then fails, naming this script.
  bash "$(dirname "$0")/fetch-arm64-parts.sh" ||
    echo "install-deps: WARNING: fetch-arm64-parts.sh failed; build.aarch64_e2e will fail" >&2
fi
