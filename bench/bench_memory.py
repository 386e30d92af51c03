#!/usr/bin/env python3
"""Memory of a build whose image has very many entries (issue 14): the file list is the part of a
build that lives in memory (contents stream through a spool on disk), so RSS grows with entries.

Generates an OCI layout with one uncompressed layer of --entries empty files (1,000 per
directory; names seeded, so the image is the same every run), then measures:

  oci2eif build   --oci-layout DIR:latest (CLI): seconds and peak RSS
  oci2eif serve   --workers 2, two builds of that image posted at once: the daemon's peak RSS
                  (VmHWM) and its RSS once both have ended, beside its RSS before them
  baseline        umoci raw unpack of the same layout (rootfs only): seconds and peak RSS

Not a test: no thresholds. Needs build/cli/oci2eif, umoci, GNU time, a /boot/vmlinuz-*-cloud-amd64.

usage: python3 bench/bench_memory.py [--entries 1000000] [--oci2eif build/cli/oci2eif]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "images"))
from fixtures import make_kernel_bundle  # noqa: E402
from imagelib import OCI, Layout, jbytes, sha  # noqa: E402
from ports import free_port  # noqa: E402
from serve_e2e import Daemon, write_tokens  # noqa: E402

PER_DIR = 1000


def header(name, kind, size=0):
    """A ustar header: kind b"0" file, b"5" directory; mode 0644/0755, owner 0:0, mtime 0."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000755\0" if kind == b"5" else b"0000644\0"
    h[108:116] = h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = kind
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def layer_tar(entries):
    parts = []
    for i in range(entries):
        if i % PER_DIR == 0:
            parts.append(header(b"srv/d%05d/" % (i // PER_DIR), b"5"))
        parts.append(header(b"srv/d%05d/file-%07d.txt" % (i // PER_DIR, i), b"0"))
    parts.append(b"\0" * 1024)
    return b"".join(parts)


def write_layout(path, entries):
    tar = layer_tar(entries)
    lay = Layout()
    layer = lay.blob(tar, OCI["tar"])
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"]},
              "rootfs": {"type": "layers", "diff_ids": [sha(tar)]}}
    cfg = lay.blob(jbytes(config), OCI["config"])
    manifest = {"schemaVersion": 2, "mediaType": OCI["manifest"], "config": cfg, "layers": [layer]}
    lay.tag(lay.blob(jbytes(manifest), OCI["manifest"]))
    lay.write(path)
    return len(tar)


def timed(cmd):
    """(seconds, peak RSS MiB) of one command, through GNU time."""
    out = tempfile.NamedTemporaryFile(delete=False)
    started = time.monotonic()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name] + cmd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if run.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (" ".join(cmd), run.stderr.decode(errors="replace")))
    seconds = time.monotonic() - started
    rss = int(open(out.name).read().split()[-1]) / 1024
    os.unlink(out.name)
    return seconds, rss


def status_mib(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def daemon_figures(binary, work, kernel_dir, layout):
    daemon = Daemon(binary, work, kernel_dir, free_port())
    daemon.cmd[daemon.cmd.index("--workers") + 1] = "2"
    daemon.start()
    try:
        before = status_mib(daemon.proc.pid, "VmRSS")
        ids = []
        for n in range(2):  # two requests that differ, so the second is not the first's twin
            status, body, _ = daemon.request("POST", "/v1/builds",
                                             {"image": "oci-layout:%s:latest" % layout,
                                              "cmd": ["/bin/true", str(n)]})
            if status != 202:
                raise SystemExit("POST refused: %s %s" % (status, body))
            ids.append(body["id"])
        for build_id in ids:
            for _ in range(1200):  # 10 minutes at most
                state = daemon.request("GET", "/v1/builds/" + build_id)[1]["state"]
                if state not in ("queued", "running"):
                    break
                time.sleep(0.5)
            if state != "succeeded":
                raise SystemExit("build %s ended %s" % (build_id, state))
        time.sleep(1)
        pid = daemon.proc.pid
        return before, status_mib(pid, "VmHWM"), status_mib(pid, "VmRSS")
    finally:
        daemon.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--oci2eif", default=os.path.join(ROOT, "build", "cli", "oci2eif"))
    args = ap.parse_args()
    binary = os.path.abspath(args.oci2eif)
    os.environ.setdefault("OCI2EIF_INIT_DIR", os.path.join(ROOT, "build", "init"))
    work = tempfile.mkdtemp(prefix="bench-memory-")
    try:
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        write_tokens(work)
        layout = os.path.join(work, "image")
        size = write_layout(layout, args.entries)
        print("image: %d entries, one %d MiB layer" % (args.entries, size >> 20))
        seconds, rss = timed([binary, "build", "--oci-layout", layout + ":latest", "--kernel-dir",
                              kernel_dir, "--output", os.path.join(work, "out.eif")])
        print("oci2eif build            %6.1f s  peak RSS %6.0f MiB" % (seconds, rss))
        seconds, rss = timed(["umoci", "raw", "unpack", "--image", layout + ":latest",
                              os.path.join(work, "rootfs")])
        print("baseline umoci raw unpack %5.1f s  peak RSS %6.0f MiB" % (seconds, rss))
        shutil.rmtree(os.path.join(work, "rootfs"))
        before, peak, after = daemon_figures(binary, work, kernel_dir, layout)
        print("oci2eif serve, 2 builds at once: RSS before %.0f MiB, peak %.0f MiB, after %.0f MiB"
              % (before, peak, after))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
