#!/usr/bin/env python3
"""What `oci2eif build` shows on stderr while it works, as a user's terminal or CI log sees it:

  - on a terminal (a pseudo-terminal here, 100 columns): a status line redrawn in place
    (carriage return, erase line) for the download and for applying the layers, never wider
    than the terminal, cleared at the end; log lines in between
  - through a pipe (CI): plain lines, no carriage return or escape sequence
  - --progress json: every line a JSON object; progress events per layer end at the layer's size
  - --progress none: log lines, no progress; --quiet: nothing on a successful build
  - in every form the same EIF and measurements JSON on stdout
The image comes from a registry served here (tests/e2e/fixtures.py LayoutRegistry) with an empty
cache, so the layers are downloaded.

usage: progress_e2e.py OCI2EIF_BINARY
Last line: "N passed, M failed".
"""
import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from fixtures import LayoutRegistry, make_kernel_bundle, make_test_images  # noqa: E402

COLUMNS = 100
ERASE = "\r\x1b[K"


class Build:
    """`oci2eif build` of the registry's busybox with a fresh cache."""

    def __init__(self, binary, work, kernel_dir, registry):
        self.binary, self.work, self.kernel_dir, self.registry = binary, work, kernel_dir, registry
        self.runs = 0

    def args(self, extra):
        self.runs += 1
        run_dir = os.path.join(self.work, "run-%d" % self.runs)
        os.makedirs(run_dir)
        self.eif = os.path.join(run_dir, "app.eif")
        return [self.binary, "build", "--image", self.registry.host + "/busybox:latest",
                "--kernel-dir", self.kernel_dir, "--output", self.eif,
                "--cache-dir", os.path.join(run_dir, "cache")] + extra

    def piped(self, *extra):
        r = subprocess.run(self.args(list(extra)), capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, TERM="xterm"))
        return r.returncode, r.stdout, r.stderr

    def on_terminal(self):
        """Runs with stderr on a pseudo-terminal of COLUMNS columns; (status, stdout, stderr)."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
        proc = subprocess.Popen(self.args([]), stdout=subprocess.PIPE, stderr=slave,
                                env=dict(os.environ, TERM="xterm"))
        os.close(slave)
        seen = b""
        deadline = time.time() + 300
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        out = proc.stdout.read().decode()
        proc.wait(timeout=60)
        os.close(master)
        return proc.returncode, out, seen.decode("utf-8", "replace").replace("\r\n", "\n")


def status_lines(text):
    """The status lines drawn (each follows an erase, and is not a log line)."""
    lines = [part.split("\n")[0] for part in text.split(ERASE)[1:]]
    return [line for line in lines if line and not line.startswith("oci2eif: ")]


def check_terminal(build):
    rc, out, err = build.on_terminal()
    check("on a terminal the build succeeds", rc == 0 and "PCR0" in out, err[-2000:])
    drawn = status_lines(err)
    check("a status line is drawn for the download",
          any(s.startswith("download ") and "layers done" in s for s in drawn), drawn)
    check("and for applying the layers",
          any(s.startswith("apply ") and "layers done" in s for s in drawn), drawn)
    check("no status line is wider than the terminal",
          drawn and all(len(s) < COLUMNS for s in drawn), [len(s) for s in drawn])
    check("log lines scroll above it", "oci2eif: step pull:" in err and "oci2eif: wrote " in err)
    check("the line is cleared at the end: the last output is the last log line",
          err.rstrip("\n").split("\n")[-1].startswith("oci2eif: wrote "), err[-300:])
    return json.loads(out)


def check_piped(build, measurements):
    rc, out, err = build.piped()
    check("through a pipe the build succeeds with the same measurements",
          rc == 0 and json.loads(out) == measurements, err[-2000:])
    check("plain lines only: no carriage return or escape sequence",
          "\r" not in err and "\x1b" not in err and "oci2eif: step flatten:" in err, err[-2000:])
    check("a plain line says when a layer's download ended",
          re.search(r"\noci2eif: layer 1/2 sha256:[0-9a-f]{12}…: downloaded [0-9.]+ (B|KiB|MiB) in ", err),
          err[-2000:])


def check_json(build, measurements):
    rc, out, err = build.piped("--progress", "json")
    events = []
    for line in err.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            check("--progress json: every stderr line is JSON", False, line)
            return
    progress = [e for e in events if e.get("type") == "progress"]
    check("--progress json: the same measurements, log and progress events",
          rc == 0 and json.loads(out) == measurements and progress and
          any(e.get("type") == "log" for e in events), err[-2000:])
    for phase in ("download", "apply"):
        last = {}
        for e in progress:
            if e["phase"] == phase:
                last[e["digest"]] = e
        layers = [e for e in last.values() if e["layer"].startswith("layer ")]
        check("--progress json: each blob's %s events end at its size, for both layers" % phase,
              len(layers) == 2 and all(e["current"] == e["total"] for e in last.values()), last)


def check_none_and_quiet(build, measurements):
    rc, out, err = build.piped("--progress", "none")
    check("--progress none: log lines and no progress",
          rc == 0 and json.loads(out) == measurements and "oci2eif: step flatten:" in err
          and " MiB" not in err and "\r" not in err, err[-2000:])
    rc, out, err = build.piped("--quiet")
    check("--quiet: nothing on stderr for a build without warnings",
          rc == 0 and json.loads(out) == measurements and err == "", err[-2000:])
    rc, out, err = build.piped("--progress", "fancy")
    check("--progress fancy is a usage error (exit 2)", rc == 2 and "--progress" in err, err)


def main():
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="progress-e2e-")
    registry = None
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        registry = LayoutRegistry(os.path.join(images, "busybox"))
        build = Build(binary, work, kernel_dir, registry)
        measurements = check_terminal(build)
        check_piped(build, measurements)
        check_json(build, measurements)
        check_none_and_quiet(build, measurements)
    finally:
        if registry:
            registry.close()
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
