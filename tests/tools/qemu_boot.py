#!/usr/bin/env python3
"""Boots a kernel and initramfs under QEMU (x86_64 or aarch64, TCG) and checks its serial console.

    qemu_boot.py --kernel K --initrd F [--initrd F ...] --append "CMDLINE" --timeout SECONDS
                 --log FILE [--arch x86_64|aarch64] [--expect STRING ...] [--forbid STRING ...]

The initrds are concatenated in order into one temporary file, as a boot loader (or the Nitro
hypervisor with an EIF's ramdisk sections) hands them to the kernel. The guest gets 512 MiB,
no network, no disks and no host directories: only the kernel and that file. Its serial
console goes to --log.

Exit status: 0 when QEMU ended by itself with status 0 (the guest powered off or rebooted:
-no-reboot turns a reboot into an exit) and every --expect string appeared and no --forbid
string did; 1 otherwise (the reason is printed, with the end of the console log); 2 when the
kernel, an initrd or QEMU is missing. Never runs longer than --timeout: QEMU is sent SIGTERM
shortly before it, then SIGKILL.
"""

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# Per guest architecture: the QEMU binary, its machine, and the serial console's device name.
# x86_64: a q35 PC, 16550 UART. aarch64: QEMU's `virt` board (device tree, PSCI for power-off),
# a Cortex-A57 and its PL011 UART.
MACHINES = {
    "x86_64": {"qemu": "qemu-system-x86_64", "machine": ["-M", "q35"], "console": "ttyS0",
               "package": "qemu-system-x86"},
    "aarch64": {"qemu": "qemu-system-aarch64", "machine": ["-M", "virt", "-cpu", "cortex-a57"],
                "console": "ttyAMA0", "package": "qemu-system-arm"},
}
KILL_GRACE = 3.0  # seconds reserved within --timeout for SIGTERM then SIGKILL


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", required=True, help="bzImage/vmlinuz to boot")
    p.add_argument("--initrd", required=True, action="append", help="ramdisk, in boot order")
    p.add_argument("--append", default="", help="kernel command line")
    p.add_argument("--timeout", required=True, type=float, help="seconds, at most")
    p.add_argument("--log", required=True, help="file that receives the serial console")
    p.add_argument("--expect", action="append", default=[], help="must appear on the console")
    p.add_argument("--forbid", action="append", default=[], help="must not appear")
    p.add_argument("--memory", default="512", help="guest memory in MiB (default 512)")
    p.add_argument("--arch", default="x86_64", choices=sorted(MACHINES), help="guest architecture")
    return p.parse_args()


def die_on_parent_exit():
    """Runs in the QEMU child before exec: if this runner is killed (say by a CTest timeout),
    the kernel kills QEMU too instead of leaving it running."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def stop(proc, grace):
    """SIGTERM, then SIGKILL if QEMU has not gone after half the grace period."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace / 2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


def main():
    args = parse_args()
    for path in [args.kernel, *args.initrd]:
        if not os.path.isfile(path):
            print(f"qemu_boot: {path}: no such file", file=sys.stderr)
            return 2
    machine = MACHINES[args.arch]
    qemu = shutil.which(machine["qemu"])
    if not qemu:
        print(f"qemu_boot: {machine['qemu']} not found in PATH "
              f"(Debian: apt-get install {machine['package']})", file=sys.stderr)
        return 2
    # SIGTERM to the runner (CTest, a CI job) goes through the same cleanup as a timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    grace = min(KILL_GRACE, args.timeout / 10)
    with tempfile.TemporaryDirectory(prefix="qemu_boot.") as tmp:
        initrd = os.path.join(tmp, "initrd.cpio")
        with open(initrd, "wb") as out:
            for part in args.initrd:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
        cmd = [
            qemu, *machine["machine"], "-m", args.memory, "-accel", "tcg",
            "-nodefaults", "-no-user-config", "-nographic", "-monitor", "none",
            "-serial", "stdio", "-nic", "none", "-no-reboot",
            "-kernel", args.kernel, "-initrd", initrd,
            "-append", f"{args.append} console={machine['console']} panic=-1".strip(),
        ]
        start = time.monotonic()
        with open(args.log, "wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, preexec_fn=die_on_parent_exit)
            timed_out = False
            try:
                proc.wait(timeout=max(args.timeout - grace, 0.1))
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                if proc.poll() is None:
                    stop(proc, grace)
        elapsed = time.monotonic() - start

    with open(args.log, "rb") as f:
        console = f.read().decode("utf-8", errors="replace").replace("\r\n", "\n")
    failures = []
    if timed_out:
        failures.append(f"QEMU was still running after {args.timeout:g} s and was stopped")
    elif proc.returncode != 0:
        failures.append(f"QEMU exited with status {proc.returncode}")
    missing = [s for s in args.expect if s not in console]
    failures += [f"expected on the console but missing: {s!r}" for s in missing]
    failures += [f"must not appear but did: {s!r}" for s in args.forbid if s in console]

    print(f"qemu_boot: QEMU ran {elapsed:.1f} s; console log in {args.log}")
    if failures:
        print("qemu_boot: FAILED\n  " + "\n  ".join(failures), file=sys.stderr)
        print("--- last lines of the console ---\n" + tail(console), file=sys.stderr)
        return 1
    print(f"qemu_boot: ok, all {len(args.expect)} expected strings seen")
    return 0


if __name__ == "__main__":
    sys.exit(main())
