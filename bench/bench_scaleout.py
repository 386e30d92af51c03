#!/usr/bin/env python3
"""Scale-out figures on this machine, each beside the embedded (SQLite + data dir) baseline
measured in the same run:

  - builds per minute: BUILDS busybox builds (distinct env, so none is reused) submitted at once,
    timed from the first POST to the last success: one SQLite daemon, then 1 and 3 replicas on
    one PostgreSQL 15 + one S3 (Swift s3api), each daemon with --workers 1;
  - claim latency with QUEUED builds queued (bench/claim_latency.cpp): p50/p99 of JobStore::claim
    from 3 claimers, SQLite vs PostgreSQL.

usage: python3 bench/bench_scaleout.py [--builds 12] [--queued 1000]
       (after a build: build/cli/oci2eif and build/bench/oci2eif_bench_claim; postgresql-15 and
       swift installed, as scripts/install-deps.sh does)
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
sys.path.insert(0, os.path.join(ROOT, "tests", "services"))
from fixtures import make_kernel_bundle, make_test_images  # noqa: E402
from ports import free_port  # noqa: E402
from scaleout_e2e import Cluster  # noqa: E402
from serve_e2e import Daemon, write_tokens  # noqa: E402
import postgres  # noqa: E402
import s3  # noqa: E402


def throughput(daemons, images, builds, tag):
    """Builds per minute over `daemons` (POSTs spread round robin)."""
    start = time.time()
    ids = []
    for n in range(builds):
        body = {"image": "oci-layout:%s/busybox:latest" % images, "env": ["B=%s-%d" % (tag, n)]}
        status, b, _ = daemons[n % len(daemons)].request("POST", "/v1/builds", body)
        if status != 202:
            raise SystemExit("POST answered %s: %s" % (status, b))
        ids.append(b["id"])
    for bid in ids:
        done = daemons[0].wait(bid, ("succeeded", "failed"), timeout=900)
        if not done or done["state"] != "succeeded":
            raise SystemExit("build %s did not succeed: %s" % (bid, done))
    seconds = time.time() - start
    return builds / seconds * 60, seconds


def claim_latency(kind, where, queued):
    binary = os.path.join(ROOT, "build", "bench", "oci2eif_bench_claim")
    r = subprocess.run([binary, kind, where, str(queued), "3"], capture_output=True, text=True,
                       timeout=900)
    return (r.stdout or r.stderr).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--builds", type=int, default=12)
    ap.add_argument("--queued", type=int, default=1000)
    a = ap.parse_args()
    binary = os.path.join(ROOT, "build", "cli", "oci2eif")
    work = tempfile.mkdtemp(prefix="bench-scaleout-")
    pg = swift = cluster = single = None
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel = make_kernel_bundle(os.path.join(work, "kernel"))
        write_tokens(work)
        single = Daemon(binary, work, kernel, free_port())
        single.start()
        rate, secs = throughput([single], images, a.builds, "sqlite")
        single.stop()
        print("builds/min  sqlite, 1 daemon       %6.1f  (%d builds in %.1f s)" % (rate, a.builds, secs))
        pg = postgres.PostgresServer().start()
        s3_state = os.path.join(work, "s3")
        swift = s3.start(s3_state)
        cluster = Cluster(binary, work, kernel, pg.state(), swift)
        cluster.start(1)
        rate, secs = throughput(cluster.replicas, images, a.builds, "pg1")
        print("builds/min  postgres+s3, 1 replica %6.1f  (%d builds in %.1f s)" % (rate, a.builds, secs))
        for i in (2, 3):
            r = cluster.replica("r%d" % i)
            r.start()
            cluster.replicas.append(r)
        rate, secs = throughput(cluster.replicas, images, a.builds, "pg3")
        print("builds/min  postgres+s3, 3 replicas%6.1f  (%d builds in %.1f s)" % (rate, a.builds, secs))
        cluster.stop()
        cluster = None
        print("claim       " + claim_latency("sqlite", os.path.join(work, "claims.db"), a.queued))
        subprocess.run(["psql", pg.url, "-qc", "CREATE SCHEMA claims"], check=True)
        url = pg.url + ("&" if "?" in pg.url else "?") + "options=-csearch_path%3Dclaims"
        print("claim       " + claim_latency("postgres", url, a.queued))
    finally:
        for d in (single,) + tuple(cluster.replicas if cluster else ()):
            if d:
                d.stop()
        if swift:
            s3.stop(s3_state)
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
