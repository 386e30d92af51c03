#!/usr/bin/env python3
"""Throughput and peak memory of `oci2eif assemble` on a large ramdisk.

Prints MB/s, seconds and peak RSS for oci2eif, and in the same run the floor it is compared
against: `sha384sum` over the same bytes (one SHA-384 pass; oci2eif does two SHA-384 passes
over the application ramdisk, for PCR0 and PCR2, plus a CRC and the write), and oci2eif with
--threads 1 (everything in turn on one core: the baseline of the parallel write). Not a test: no
thresholds, just figures.

Needs GNU time (Debian package `time`).

usage: bench/bench_assemble.py [--oci2eif build/cli/oci2eif] [--size-mib 1024] [--runs 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def measure(cmd):
    """Runs cmd and returns (seconds, peak RSS in MiB) of that command alone."""
    # GNU time reports the child's own maximum RSS; measuring from Python would count the
    # interpreter's memory, which the forked child shares until it execs.
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, check=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds, rss_kib = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(rss_kib) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oci2eif", default=os.path.join(ROOT, "build", "cli", "oci2eif"))
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    inputs = os.path.join(ROOT, "tests", "data", "eif-vectors", "inputs")

    with tempfile.TemporaryDirectory(prefix="oci2eif-bench-") as work:
        ramdisk = os.path.join(work, "ramdisk.bin")
        with open(ramdisk, "wb") as f:
            chunk = os.urandom(1 << 20)
            for i in range(args.size_mib):
                f.write(chunk[i % 97:] + chunk[: i % 97])  # vary the bytes cheaply
        size_mb = os.path.getsize(ramdisk) / 1e6
        out = os.path.join(work, "out.eif")
        assemble = [args.oci2eif, "assemble", "--kernel", os.path.join(inputs, "kernel.bin"),
                    "--cmdline", "console=ttyS0", "--ramdisk", os.path.join(inputs, "ramdisk-bootstrap.cpio"),
                    "--ramdisk", ramdisk, "--output", out]
        floor = ["sha384sum", ramdisk]
        subprocess.run(floor, check=True, stdout=subprocess.DEVNULL)  # warm the page cache

        print(f"input: {size_mb:.0f} MB application ramdisk, {args.runs} runs each, best shown")
        rows = []
        for name, cmd in (("sha384sum (floor)", floor), ("oci2eif assemble", assemble),
                          ("  with --threads 1", assemble + ["--threads", "1"])):
            runs = [measure(cmd) for _ in range(args.runs)]
            best = min(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            rows.append((name, best, rss))
            print(f"{name:20s} {best:7.2f} s  {size_mb / best:8.1f} MB/s  peak RSS {rss:7.1f} MiB")
        ratio = rows[1][1] / rows[0][1]
        print(f"oci2eif takes {ratio:.2f}x the time of one SHA-384 pass; "
              f"peak RSS is {rows[1][2] / (size_mb / 1.048576) * 100:.2f}% of the input size; "
              f"--threads 1 takes {rows[2][1] / rows[1][1]:.2f}x as long")


if __name__ == "__main__":
    main()
