#!/usr/bin/env python3
"""The API's availability under hostile connections (issue 14): latency of `/healthz` and of an
authenticated `GET /v1/builds/{id}`, each on a new connection, while 1,000 idle connections
(connected, never a byte), 1,000 kept ones (one request answered, then silent on keep-alive),
1,000 slowloris connections (one header byte every 3 s) or 300 keep-alive clients (`ab -k`)
load the daemon, and the issue's combined cases: 1,000 idle or slowloris connections while the
300 keep-alive clients hammer; and the daemon's RSS.

The baseline in the same run is the same daemon with `--max-connections 16`: a fixed number of
connection threads with the rest waiting, which is how cpp-httplib's own pool (8 threads here)
served before. Figures: p50/p99/max in ms over --probes requests, and failures (no answer in 5 s).

usage: python3 bench/bench_http.py [--probes 200] [--idle 1000] [--keepalive 300]
Needs: build/cli/oci2eif, `ab` (apache2-utils), a /boot/vmlinuz-*-cloud-amd64.
"""
import argparse
import http.client
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from fixtures import make_kernel_bundle  # noqa: E402
from ports import free_port  # noqa: E402
from serve_e2e import BUILD, READ, Daemon, write_tokens  # noqa: E402


def probe(port, path, token=None):
    """Milliseconds for one request on a new connection, or None if it got no 200 in 5 s."""
    started = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
        ok = c.getresponse().status == 200
        c.close()
    except OSError:
        return None
    return (time.monotonic() - started) * 1000 if ok else None


def probes(port, path, token, count):
    """`count` probes; after 10 failures in a row, the rest are counted as failed unsent."""
    out = []
    while len(out) < count:
        out.append(probe(port, path, token))
        if len(out) >= 10 and all(x is None for x in out[-10:]):
            out += [None] * (count - len(out))
    return out


def summary(samples):
    done = sorted(s for s in samples if s is not None)
    failed = len(samples) - len(done)
    if not done:
        return "no answers (%d failed)" % failed
    pick = lambda q: done[min(len(done) - 1, int(q * len(done)))]  # noqa: E731
    return "p50 %7.1f  p99 %7.1f  max %7.1f ms  failed %d" % (pick(0.5), pick(0.99), done[-1], failed)


class Load:
    """Hostile clients held open while probes run."""

    def __init__(self, port, kind, count):
        self.port, self.kind, self.stop, self.socks, self.threads = port, kind, False, [], []
        if kind == "keepalive":
            self.ab = subprocess.Popen(["ab", "-k", "-q", "-c", str(count), "-t", "600", "-n", "100000000",
                                        "http://127.0.0.1:%d/healthz" % port],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)
            return
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if kind == "slowloris":
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
            elif kind == "kept":
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                s.recv(4096)
            self.socks.append(s)
        if kind == "slowloris":
            self.threads.append(threading.Thread(target=self.dribble, daemon=True))
            self.threads[-1].start()

    def dribble(self):
        while not self.stop:
            for s in self.socks:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            for _ in range(30):
                if self.stop:
                    return
                time.sleep(0.1)

    def close(self):
        self.stop = True
        for s in self.socks:
            s.close()
        if self.kind == "keepalive":
            self.ab.kill()
            self.ab.wait()


def rss_mib(pid):
    fields = dict(line.split(":", 1) for line in open("/proc/%d/status" % pid))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def run_daemon(binary, work, kernel_dir, max_connections, args):
    daemon = Daemon(binary, work, kernel_dir, free_port())
    daemon.cmd += ["--max-connections", str(max_connections)]
    daemon.start()
    port = int(daemon.base.rsplit(":", 1)[1])
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": "127.0.0.1:9/none/none:latest"}, token=BUILD)
    if status != 202:
        raise SystemExit("could not create a build to GET: %s %s" % (status, b))
    path = "/v1/builds/" + b["id"]
    try:
        for loads in ((), (("idle", args.idle),), (("kept", args.idle),),
                      (("slowloris", args.idle),), (("keepalive", args.keepalive),),
                      (("idle", args.idle), ("keepalive", args.keepalive)),
                      (("slowloris", args.idle), ("keepalive", args.keepalive))):
            held = [Load(port, kind, count) for kind, count in loads]
            health = probes(port, "/healthz", None, args.probes)
            build = probes(port, path, READ, args.probes)
            rss, peak = rss_mib(daemon.proc.pid)
            for load in held:
                load.close()
            label = "max_connections %-5d %-24s" % (
                max_connections, "+".join("%s x%d" % load for load in loads) or "none")
            print("%s /healthz          %s" % (label, summary(health)))
            print("%s GET /v1/builds/id %s  rss %.0f MiB (peak %.0f)" % (label, summary(build), rss, peak))
            sys.stdout.flush()
            time.sleep(6)  # the closed connections' threads end (read timeout 5 s)
    finally:
        daemon.stop()
        shutil.rmtree(os.path.join(work, "data"), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--keepalive", type=int, default=300)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    binary = os.path.join(ROOT, "build", "cli", "oci2eif")
    work = tempfile.mkdtemp(prefix="bench-http-")
    try:
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        write_tokens(work)
        for max_connections in (4096, 16):  # ours, then the fixed-pool baseline
            run_daemon(binary, work, kernel_dir, max_connections, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
