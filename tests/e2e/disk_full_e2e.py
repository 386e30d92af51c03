#!/usr/bin/env python3
"""A full disk, for real: small tmpfs mounts (needs root) under the CLI's output and the daemon's
data directory.

- `oci2eif build --output` on a full disk: exit 1, the path and "No space left on device" on
  stderr, nothing left in the directory (no partial EIF, no temporary file).
- `oci2eif serve` with min_free_mb 8 on a 64 MiB data directory:
  - a build that runs out of space half-way fails with code disk_full and publishes nothing;
  - below the floor /readyz and POST /v1/builds answer 503 disk_full with Retry-After, the
    refused POST leaves no row, the metric shows the free space, and the log says the workers
    take no builds;
  - with space back, the same request builds (a disk_full failure is not reused) and the workers
    say so.

usage: disk_full_e2e.py OCI2EIF_BINARY   (root, the Debian cloud kernel)
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_e2e  # noqa: E402  (Daemon, write_tokens)
from checks import check, summary  # noqa: E402
from fixtures import make_kernel_bundle, make_test_images, remove_work  # noqa: E402
from ports import free_port  # noqa: E402
from serve_e2e import BUILD, READ  # noqa: E402

MIB = 1 << 20
FLOOR_MB = 8


def mount_tmpfs(path, size_mb):
    os.makedirs(path)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0755" % size_mb, "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("disk_full_e2e: cannot mount a tmpfs (run as root): " + r.stderr)


def unmount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def available(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_to(path, filler, left):
    """Rewrites `filler` so that about `left` bytes stay available on path's file system."""
    size = max(0, (os.path.getsize(filler) if os.path.exists(filler) else 0) + available(path) - left)
    with open(filler, "wb") as f:  # tmpfs allocates on write: write the bytes for real
        for _ in range(size // MIB):
            f.write(b"\0" * MIB)
        f.write(b"\0" * (size % MIB))


def leftovers(directory):
    """Temporary files anywhere below directory."""
    return [os.path.join(d, n) for d, _, names in os.walk(directory) for n in names if ".tmp" in n]


def check_cli(binary, work, images, kernel):
    out = os.path.join(work, "small")
    mount_tmpfs(out, 4)
    try:
        r = subprocess.run([binary, "build", "--oci-layout", os.path.join(images, "busybox") + ":latest",
                            "--kernel-dir", kernel, "--output", os.path.join(out, "app.eif")],
                           capture_output=True, text=True, timeout=300)
        check("CLI build onto a full disk exits 1 naming the file and the cause",
              r.returncode == 1 and out + "/" in r.stderr and "No space left on device" in r.stderr,
              (r.returncode, r.stderr[-400:]))
        check("CLI build onto a full disk leaves nothing behind", os.listdir(out) == [], os.listdir(out))
    finally:
        unmount(out)


def metric(daemon, name):
    status, text, _ = daemon.request("GET", "/metrics", token=READ, raw=True)
    for line in (text.decode() if status == 200 else "").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def post(daemon, body):
    return daemon.request("POST", "/v1/builds", body)


def check_serve(binary, work, images, kernel):
    mnt = os.path.join(work, "datafs")
    mount_tmpfs(mnt, 64)
    daemon = None
    try:
        serve_e2e.write_tokens(work)
        with open(os.path.join(work, "serve.json"), "w") as f:
            json.dump({"min_free_mb": FLOOR_MB}, f)
        daemon = serve_e2e.Daemon(binary, work, kernel, free_port())
        daemon.cmd[daemon.cmd.index("--data-dir") + 1] = os.path.join(mnt, "data")
        daemon.cmd += ["--config", os.path.join(work, "serve.json")]
        daemon.start()
        image = "oci-layout:" + os.path.join(images, "busybox") + ":latest"
        filler = os.path.join(mnt, "filler")

        status, b, _ = post(daemon, {"image": image})
        done = daemon.wait(b["id"], ("succeeded", "failed")) if status == 202 else None
        eif_size = next((a["size"] for a in (done or {}).get("artifacts", []) if a["name"] == "image.eif"), 0)
        if not check("with room, the build succeeds", done and done["state"] == "succeeded", done):
            return

        # Above the floor but short of one more EIF: the build starts and runs out half-way.
        fill_to(mnt, filler, FLOOR_MB * MIB + eif_size // 2)
        status, b, _ = post(daemon, {"image": image, "env": ["RUN=2"]})
        failed = daemon.wait(b["id"], ("succeeded", "failed")) if status == 202 else None
        check("a build that runs out of space fails with code disk_full and the cause",
              failed and failed["state"] == "failed" and failed["error"]["code"] == "disk_full"
              and "No space left on device" in failed["error"]["message"], (status, failed))
        if failed:
            status, _, _ = daemon.request("GET", "/v1/builds/%s/artifacts/image.eif" % failed["id"],
                                          token=READ, raw=True)
            check("the failed build publishes no image.eif", status == 404, status)
        check("no temporary file is left in the data directory", leftovers(mnt) == [], leftovers(mnt))
        scratch = os.path.join(mnt, "data", "scratch")
        check("the failed build's scratch directory is gone",
              not os.path.exists(scratch) or os.listdir(scratch) == [],
              os.listdir(scratch) if os.path.exists(scratch) else None)

        # Below the floor.
        fill_to(mnt, filler, FLOOR_MB * MIB // 2)
        status, body, headers = daemon.request("GET", "/readyz", token=None)
        check("below min_free_mb /readyz answers 503 disk_full naming the directory, with Retry-After",
              status == 503 and body.get("code") == "disk_full" and mnt in body.get("detail", "")
              and headers.get("Retry-After"), (status, body))
        rows = len(daemon.request("GET", "/v1/builds", token=READ)[1]["builds"])
        status, body, headers = post(daemon, {"image": image, "env": ["RUN=3"]})
        check("below min_free_mb POST answers 503 disk_full with Retry-After",
              status == 503 and body.get("code") == "disk_full" and "min_free_mb" in body.get("detail", "")
              and headers.get("Retry-After"), (status, body))
        check("the refused POST leaves no row",
              len(daemon.request("GET", "/v1/builds", token=READ)[1]["builds"]) == rows)
        free = metric(daemon, "oci2eif_data_dir_available_bytes")
        check("oci2eif_data_dir_available_bytes shows the free space (below the floor)",
              free is not None and 0 < free < FLOOR_MB * MIB and abs(free - available(mnt)) < 2 * MIB,
              (free, available(mnt)))
        log = wait_log(daemon.log, "workers take no builds while the data directory " + os.path.join(mnt, "data"))
        check("the daemon logs that its workers take no builds, and why", log, daemon.log)

        # Space back: the same request is built anew (a disk_full failure is not reused).
        os.unlink(filler)
        status, body, _ = daemon.request("GET", "/readyz", token=None)
        check("with space back /readyz is 200", status == 200, (status, body))
        status, b, _ = post(daemon, {"image": image, "env": ["RUN=2"]})
        again = daemon.wait(b["id"], ("succeeded", "failed")) if status == 202 else None
        check("the request that failed for space builds once space is back, as a new build",
              again and again["state"] == "succeeded" and failed and again["id"] != failed["id"],
              (status, again))
        check("the daemon logs that its workers take builds again",
              wait_log(daemon.log, "workers take builds again"), daemon.log)
    finally:
        if daemon:
            daemon.stop()
        unmount(mnt)


def wait_log(path, text, timeout=15):
    """True once `text` is in the file at `path` (bounded poll)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.1)
    return False


def main():
    binary = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        raise SystemExit("disk_full_e2e: needs root to mount tmpfs file systems")
    # SIGTERM (a person, a CI job) exits through the finally blocks, which unmount. CTest's own
    # timeout kills outright: CMakeLists runs this in private mount and PID namespaces for that.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = tempfile.mkdtemp(prefix="disk-full-e2e-")
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel = make_kernel_bundle(os.path.join(work, "kernel"))
        check_cli(binary, work, images, kernel)
        check_serve(binary, work, images, kernel)
    finally:
        remove_work(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
