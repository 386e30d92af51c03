#!/usr/bin/env bash
# Installs what is missing (as root) and builds build/cli/oci2eif with the enclave init binaries
# it puts in ramdisks: the first step of scripts/run.sh and scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
fi
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)" --target oci2eif
