#!/usr/bin/env python3
"""Throughput and peak memory of `oci2eif assemble` on a large ramdisk.

Prints MB/s, seconds and peak RSS for oci2eif, and in the same run the floor it is compared
against: `sha384sum` over the same bytes (one SHA-384 pass; oci2eif does two SHA-384 passes
over the application ramdisk, for PCR0 and PCR2, plus a CRC and the write). Not a test: no
thresholds, just figures.

usage: bench/bench_assemble.py [--oci2eif build/server/oci2eif] [--size-mib 1024] [--runs 3]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def measure(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd and returns (seconds, peak RSS in MiB) of that child alone."""
    # ru_maxrss of RUSAGE_CHILDREN is the maximum over all children so far, so each command
    # runs in a fresh python child that reports its own child's figures.
    probe = (
        "import resource,subprocess,sys,time;"
        "t=time.monotonic();subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL);"
        "d=time.monotonic()-t;"
        "print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024)"
    )
    out = subprocess.run([sys.executable, "-c", probe] + cmd, check=True, capture_output=True, text=True)
    seconds, rss = out.stdout.split()
    return float(seconds), float(rss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oci2eif", default=os.path.join(ROOT, "build", "server", "oci2eif"))
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
        for name, cmd in (("sha384sum (floor)", floor), ("oci2eif assemble", assemble)):
            runs = [measure(cmd) for _ in range(args.runs)]
            best = min(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            rows.append((name, best, rss))
            print(f"{name:20s} {best:7.2f} s  {size_mb / best:8.1f} MB/s  peak RSS {rss:7.1f} MiB")
        ratio = rows[1][1] / rows[0][1]
        print(f"oci2eif takes {ratio:.2f}x the time of one SHA-384 pass; "
              f"peak RSS is {rows[1][2] / (size_mb / 1.048576) * 100:.2f}% of the input size")


if __name__ == "__main__":
    main()
