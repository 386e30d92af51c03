#!/usr/bin/env python3
"""Cross-architecture end to end: an aarch64 EIF built on this (x86_64) machine boots.

The busybox test image is made a second time around Debian's arm64 busybox (same layers and
config), built with Debian's arm64 cloud kernel into an aarch64 EIF, and booted under QEMU's
aarch64 `virt` board: our aarch64 init must run the image's app exactly as the x86_64 one does
(same console lines, same exit status). Then the same EIF again from another directory, TZ,
umask and locale (byte-identical), and from `oci2eif serve` with the bundle as a named kernel
(same PCRs as the CLI's).

usage: aarch64_e2e.py OCI2EIF_BINARY   (qemu-system-aarch64, and the arm64 parts that
                                        scripts/fetch-arm64-parts.sh fetches)
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_e2e  # noqa: E402  (Daemon, write_tokens)
from checks import check, summary  # noqa: E402
from fixtures import (arm64_parts, boot_eif, busybox_console, make_arm64_kernel_bundle,  # noqa: E402
                      make_test_images, remove_work, require_tools)
from ports import free_port  # noqa: E402
from serve_e2e import BUILD, READ  # noqa: E402

IMAGE = "busybox-arm64"


def build(binary, layout, bundle, out, env=None, cwd=None, umask=None):
    """`oci2eif build` with no --arch: the bundle's Image must make it an aarch64 build."""
    cmd = [binary, "build", "--oci-layout", layout, "--kernel-dir", bundle, "--output", out]
    if umask:
        cmd = ["bash", "-c", "umask %s && exec \"$@\"" % umask, "-"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def served_pcrs(binary, work, bundle, layout):
    """PCRs of the same image built by `oci2eif serve`, with the bundle as kernel `arm64`."""
    home = os.path.join(work, "serve")
    os.makedirs(home)
    serve_e2e.write_tokens(home)
    daemon = serve_e2e.Daemon(binary, home, bundle, free_port())
    daemon.cmd[daemon.cmd.index("cloud=" + bundle)] = "arm64=" + bundle
    daemon.cmd[daemon.cmd.index("--local-images") + 1] = work
    try:
        daemon.start()
        status, kernels, _ = daemon.request("GET", "/v1/kernels", token=READ)
        listed = {k["name"]: k for k in kernels.get("kernels", [])} if status == 200 else {}
        check("serve lists the bundle as an aarch64 kernel",
              listed.get("arm64", {}).get("arch") == "aarch64", kernels)
        status, b, _ = daemon.request("POST", "/v1/builds", {"image": "oci-layout:" + layout},
                                      token=BUILD)
        if not check("serve accepts the arm64 image for its aarch64 kernel", status == 202, b):
            return None
        done = daemon.wait(b["id"], ("succeeded", "failed", "cancelled"))
        if not check("the served aarch64 build succeeds", done and done["state"] == "succeeded", done):
            return None
        return done["pcrs"]
    finally:
        daemon.stop()


def main():
    binary = os.path.abspath(sys.argv[1])
    require_tools("aarch64_e2e", ("qemu-system-aarch64",))
    parts = arm64_parts()
    work = tempfile.mkdtemp(prefix="aarch64-e2e-")
    try:
        images = make_test_images(os.path.join(work, "images"), busybox_arm64=os.path.join(parts, "busybox"))
        bundle = make_arm64_kernel_bundle(os.path.join(work, "kernel-arm64"))
        layout = os.path.join(images, IMAGE)

        eif = os.path.join(work, "arm64.eif")
        r = build(binary, layout + ":latest", bundle, eif)
        if not check("the arm64 image builds with the arm64 bundle and no --arch", r.returncode == 0, r.stderr):
            return summary()
        pcrs = json.loads(r.stdout)["Measurements"]
        with open(eif, "rb") as f:
            flags = int.from_bytes(f.read(8)[6:8], "big")
        check("the EIF is flagged aarch64 (header flags bit 0)", flags & 1 == 1, flags)

        expect = busybox_console(images, IMAGE)
        extracted, booted, detail = boot_eif(binary, eif, expect, arch="aarch64")
        if check("describe validates the aarch64 EIF", extracted, detail):
            check("the aarch64 EIF boots under qemu-system-aarch64 and its app prints "
                  + "; ".join(expect), booted, detail)

        other = tempfile.mkdtemp(dir=work)
        env = dict(os.environ, TZ="Pacific/Kiritimati", LC_ALL="C.UTF-8", TMPDIR=other)
        again = os.path.join(other, "again.eif")
        r = build(binary, layout + ":latest", bundle, again, env=env, cwd=other, umask="077")
        check("the aarch64 EIF built again in another directory, TZ, umask and locale is byte-identical",
              r.returncode == 0 and open(eif, "rb").read() == open(again, "rb").read(), r.stderr)

        served = served_pcrs(binary, work, bundle, layout)
        check("serve's PCR0-2 for the aarch64 build equal the CLI's",
              served is not None and all(served.get(k) == pcrs[k] for k in ("PCR0", "PCR1", "PCR2")),
              (served, pcrs))
    finally:
        remove_work(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
