#!/usr/bin/env bash
# Runs a test in private mount and PID namespaces, for tests that mount file systems and start
# daemons: when CTest kills the test on timeout (SIGKILL, with CMake 3.25), the namespaces go
# and take every mount and process of the test with them.
#   in_private_ns.sh COMMAND [ARGS...]
# Exits 77 (CTest's SKIP_RETURN_CODE for these tests) when this machine does not allow the
# namespaces (not root, or a container without CAP_SYS_ADMIN), saying so.
set -euo pipefail
if ! unshare --mount --pid --fork --mount-proc true 2>/dev/null; then
  echo "SKIPPED: cannot create mount and PID namespaces here (needs root with CAP_SYS_ADMIN)"
  exit 77
fi
exec unshare --mount --pid --fork --kill-child --mount-proc --propagation private "$@"
