#!/usr/bin/env python3
"""End-to-end checks of scale-out mode: three `oci2eif serve` replicas on one real PostgreSQL 15
and one real S3 server (OpenStack Swift's s3api, which checks SigV4), all on 127.0.0.1, started
and stopped by this suite (tests/services/).

  - 30 POSTs spread over the replicas, 10 of them duplicates sent to two replicas at the same
    instant (5 with one Idempotency-Key, 5 with equal inputs and no key) → exactly 20 builds:
    20 distinct ids answered, 20 rows in PostgreSQL, each build claimed once (attempts = 1)
  - every image.eif downloads byte-identical (sha256 = the listed digest) from every replica;
    PCRs equal those of `oci2eif build` of the same image on this machine
  - the build record names the worker (REPLICA-wN) that ran it; builds ran on several replicas
  - a kernel uploaded through one replica is listed by all and builds on another
  - log?follow=1 through a replica that is not running the build streams it; POST /cancel
    through another replica stops it within seconds
  - an EIF over 64 MiB (multipart upload) downloads with Range from a replica that did not
    build it
  - kill -9 of the replica running a build: another replica finishes it after the lease
    expires (attempts = 2); one row; under the build's S3 prefix only the final artifacts
  - PostgreSQL stopped: /readyz 503 naming the database, POST 503 with Retry-After; started
    again: ready again by itself, the build accepted before finishes, nothing lost
  - a replica with a wrong S3 secret: /readyz 503 naming the object store and S3's refusal,
    POST 503; restarted with the right secret: ready
  - a replica waiting at start for a database that is down stops at once on SIGTERM
  - two replicas building two images that share a layer (busybox, and busybox with a zstd base)
    pull each layer from the registry once (the registry lab's fault proxy logs every request):
    the second replica takes the shared one from the S3 cache

usage: scaleout_e2e.py OCI2EIF_BINARY   (python3, the Debian cloud kernel in /boot, postgresql-15,
       swift, skopeo, docker-registry: scripts/install-deps.sh)
Last line: "N passed, M failed".
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TESTS, "services"))
from checks import check, summary  # noqa: E402
from fixtures import RegistryLab, make_kernel_bundle, make_test_images, require_tools  # noqa: E402
from ports import free_port  # noqa: E402
from serve_e2e import ADMIN, BUILD, READ, Daemon, make_big_image, multipart, write_tokens  # noqa: E402
import postgres  # noqa: E402
import s3  # noqa: E402

LEASE_SECONDS = 3  # short, so a killed replica's build is taken over quickly


class Cluster:
    """The shared services and the replicas: `replicas[i]` is a Daemon with its own data dir."""

    def __init__(self, binary, work, kernel_dir, pg, s3info, extra=()):
        self.binary, self.work, self.kernel_dir = binary, work, kernel_dir
        self.pg, self.s3, self.extra = pg, s3info, list(extra)
        self.prefix = "scale"
        self.replicas = []

    def env(self, secret=None):
        env = dict(os.environ)
        env["AWS_ACCESS_KEY_ID"] = self.s3["access_key"]
        env["AWS_SECRET_ACCESS_KEY"] = secret or self.s3["secret_key"]
        env.pop("AWS_SESSION_TOKEN", None)
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(self.work, "no-credentials-file")
        return env

    def replica(self, name, secret=None, extra=()):
        d = Daemon(self.binary, os.path.join(self.work, name), self.kernel_dir, free_port())
        os.makedirs(os.path.join(self.work, name), exist_ok=True)
        shutil.copy(os.path.join(self.work, "tokens"), os.path.join(self.work, name, "tokens"))
        d.cmd += ["--database", self.pg["url"],
                  "--object-store", "s3://%s/%s" % (self.s3["bucket"], self.prefix),
                  "--s3-endpoint", self.s3["endpoint"], "--s3-region", self.s3["region"],
                  "--s3-path-style", "--replica-id", name, "--lease-seconds", str(LEASE_SECONDS),
                  "--local-images", self.work] + self.extra + list(extra)
        d.env = self.env(secret)
        d.name = name
        return d

    def start(self, count):
        for i in range(count):
            r = self.replica("r%d" % (i + 1))
            r.start()
            self.replicas.append(r)

    def stop(self):
        for r in self.replicas:
            r.stop()

    def psql(self, sql):
        r = subprocess.run(["psql", self.pg["url"], "-Atc", sql], capture_output=True, text=True,
                           timeout=30)
        return r.stdout.strip() if r.returncode == 0 else "psql failed: " + r.stderr

    def s3_keys(self, prefix):
        """Keys under bucket/PREFIX (ListObjectsV2 through curl's SigV4)."""
        netrc = os.path.join(self.work, "s3.netrc")
        host = self.s3["endpoint"].split("//", 1)[1].split(":")[0]
        with open(netrc, "w") as f:
            f.write("machine %s login %s password %s\n" % (host, self.s3["access_key"],
                                                          self.s3["secret_key"]))
        # Encoded here: curl signs the query as written, S3 canonicalizes '/' as %2F.
        url = "%s/%s?list-type=2&prefix=%s" % (self.s3["endpoint"], self.s3["bucket"],
                                               urllib.parse.quote(prefix, safe=""))
        r = subprocess.run(["curl", "-sf", "--netrc-file", netrc, "--aws-sigv4",
                            "aws:amz:%s:s3" % self.s3["region"], "-H",
                            "x-amz-content-sha256: " + hashlib.sha256(b"").hexdigest(), url],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return None
        return sorted(part.split("</Key>")[0] for part in r.stdout.split("<Key>")[1:])


def worker_replica(build):
    """The replica name of the build's worker id (REPLICA-wN)."""
    worker = (build or {}).get("worker", "")
    return worker.rsplit("-w", 1)[0] if worker else None


def post_at_once(pairs):
    """POSTs each (daemon, body, headers) from its own thread, released together."""
    barrier = threading.Barrier(len(pairs))
    results = [None] * len(pairs)

    def run(i, daemon, body, headers):
        barrier.wait(timeout=30)
        results[i] = daemon.request("POST", "/v1/builds", body, headers=headers)

    threads = [threading.Thread(target=run, args=(i,) + p) for i, p in enumerate(pairs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def busybox_request(images, n):
    return {"image": "oci-layout:%s/busybox:latest" % images, "env": ["N=%d" % n],
            "labels": {"case": "spread"}}


def check_thirty_posts(c, images):
    """30 POSTs over 3 replicas, 10 duplicated at the same instant on two → 20 builds."""
    rs = c.replicas
    ids, statuses = [], []
    for n in range(10):  # ten unique requests, round robin
        status, b, _ = rs[n % 3].request("POST", "/v1/builds", busybox_request(images, n))
        statuses.append(status)
        ids.append(b.get("id") if isinstance(b, dict) else None)
    for n in range(10, 20):  # ten requests, each sent to two replicas at the same instant
        body = busybox_request(images, n)
        headers = {"Idempotency-Key": "spread-%d" % n} if n < 15 else {}
        pair = post_at_once([(rs[n % 3], body, headers), (rs[(n + 1) % 3], body, headers)])
        got = [p[1].get("id") if p and isinstance(p[1], dict) else None for p in pair]
        statuses += [p[0] if p else None for p in pair]
        check("duplicate POST %d at two replicas at once answers one build id" % n,
              got[0] is not None and got[0] == got[1], (pair[0] and pair[0][:2], pair[1] and pair[1][:2]))
        ids += got
    distinct = set(i for i in ids if i)
    check("30 POSTs answered 202 or 200 (the duplicate) and named 20 distinct builds",
          all(s in (200, 202) for s in statuses) and len(distinct) == 20 and len(ids) == 30,
          (statuses, len(distinct)))
    done = {}
    for bid in distinct:
        done[bid] = rs[0].wait(bid, ("succeeded", "failed", "cancelled"), timeout=600)
    check("all 20 builds succeeded", all(d and d["state"] == "succeeded" for d in done.values()),
          [(k, d and d["state"]) for k, d in done.items() if not d or d["state"] != "succeeded"])
    total = c.psql("SELECT count(*) FROM builds")
    check("PostgreSQL holds exactly 20 build rows (SELECT count(*) FROM builds)", total == "20",
          total)
    check("each build was claimed once (attempts = 1)",
          all(d and d["attempts"] == 1 for d in done.values()),
          [(k, d and d["attempts"]) for k, d in done.items()])
    ran_on = set(worker_replica(d) for d in done.values())
    check("the build records name their worker REPLICA-wN, and several replicas ran builds",
          ran_on <= {"r1", "r2", "r3"} and len(ran_on) >= 2, ran_on)
    return done, ids[0]


def check_artifacts_everywhere(c, done):
    """Every image.eif downloads byte-identical from every replica."""
    bad = []
    for bid, d in done.items():
        listed = {a["name"]: a for a in d["artifacts"]}["image.eif"]["sha256"]
        for r in c.replicas:
            status, eif, _ = r.request("GET", "/v1/builds/%s/artifacts/image.eif" % bid,
                                       token=READ, raw=True, timeout=120)
            if status != 200 or "sha256:" + hashlib.sha256(eif).hexdigest() != listed:
                bad.append((bid, r.name, status))
    check("all 20 image.eif download from all 3 replicas with the listed sha256", not bad, bad)


def check_pcrs_match_cli(c, images, built):
    """A scale-out build's PCRs equal `oci2eif build` of the same image here."""
    eif = os.path.join(c.work, "cli.eif")
    r = subprocess.run([c.binary, "build", "--oci-layout", "%s/busybox:latest" % images,
                        "--kernel-dir", c.kernel_dir, "--env", "N=0", "--output", eif],
                       capture_output=True, text=True, timeout=300)
    d = subprocess.run([c.binary, "describe", eif, "--json"], capture_output=True, text=True)
    cli = json.loads(d.stdout)["Measurements"] if r.returncode == 0 and d.returncode == 0 else {}
    api = (built or {}).get("pcrs", {})
    check("the scale-out build's PCRs equal `oci2eif build` of the same image and env",
          api and all(cli.get(k) == v for k, v in api.items()), (api, cli, r.stderr[-300:]))


def wait_running(daemon, bid, timeout=120):
    b = daemon.wait(bid, ("running", "succeeded", "failed", "cancelled"), timeout=timeout)
    return b if b and b["state"] == "running" else None


def check_follow_and_cancel_elsewhere(c, lab):
    """Log follow and cancel through replicas that do not run the build. The build's blobs
    trickle through the lab's fault proxy (`hold`) until released, so it is surely still
    running when the cancel arrives: no race with the clock."""
    rs = c.replicas
    lab.fault("hold", 4096, count=100)
    try:
        status, b, _ = rs[0].request("POST", "/v1/builds", {
            "image": "%s/scale/big:1" % lab.env["LAB_FAULT"], "env": ["CASE=cancel"]})
        running = wait_running(rs[0], b.get("id", "")) if status == 202 else None
        runner = worker_replica(running)
        others = [r for r in rs if r.name != runner]
        check("the held build runs on one replica", running is not None and len(others) == 2,
              (status, b, running))
        if len(others) != 2:
            return
        follower = subprocess.Popen(
            ["curl", "-sN", "-H", "Authorization: Bearer " + READ,
             "%s/v1/builds/%s/log?follow=1&timeout=120" % (others[0].base, b["id"])],
            stdout=subprocess.PIPE)
        time.sleep(1)  # the follower is connected; the build stays held regardless
        started = time.time()
        status, p, _ = others[1].request("POST", "/v1/builds/%s/cancel" % b["id"], token=ADMIN)
        ended = rs[0].wait(b["id"], ("cancelled", "succeeded", "failed"), timeout=60)
        took = time.time() - started
    finally:
        lab.fault(None, 0)  # releases the held bodies
    streamed = follower.communicate(timeout=60)[0]
    check("POST /cancel through a replica not running the build stops it within 10 s",
          status in (200, 202) and ended and ended["state"] == "cancelled" and took < 10,
          (status, p, ended and ended["state"], took))
    check("log?follow=1 through a third replica streamed the build's log to its end",
          ("attempt 1 by %s-w" % runner).encode() in streamed and
          b"cancelled on request" in streamed, streamed[-400:])


def check_big_eif_range(c, big):
    """An EIF over 64 MiB: multipart upload, Range download from another replica."""
    rs = c.replicas
    status, b, _ = rs[1].request("POST", "/v1/builds", {"image": "oci-layout:%s:latest" % big})
    done = rs[1].wait(b["id"], ("succeeded", "failed"), timeout=600)
    if not check("the large build succeeds", done and done["state"] == "succeeded", done):
        return
    art = {a["name"]: a for a in done["artifacts"]}["image.eif"]
    other = [r for r in rs if r.name != worker_replica(done)][0]
    status, whole, _ = other.request("GET", "/v1/builds/%s/artifacts/image.eif" % b["id"],
                                     token=READ, raw=True, timeout=300)
    check("its image.eif is over 64 MiB and downloads whole from another replica",
          art["size"] > 64 << 20 and status == 200 and
          "sha256:" + hashlib.sha256(whole).hexdigest() == art["sha256"], (art, status))
    lo, hi = (40 << 20) + 5, (40 << 20) + 70000
    status, part, h = other.request("GET", "/v1/builds/%s/artifacts/image.eif" % b["id"], token=READ,
                                    raw=True, headers={"Range": "bytes=%d-%d" % (lo, hi)})
    check("Range across a part boundary gives 206 and exactly those bytes",
          status == 206 and part == whole[lo:hi + 1], (status, len(part or b"")))


def check_kill9_takeover(c, big):
    """kill -9 of the replica running a build: another finishes it; one row, clean prefix."""
    rs = c.replicas
    status, b, _ = rs[2].request("POST", "/v1/builds", {"image": "oci-layout:%s:latest" % big,
                                                        "env": ["CASE=kill9"]})
    running = wait_running(rs[2], b["id"])
    victim = [r for r in rs if r.name == worker_replica(running)]
    if not check("the build runs on a replica", running is not None and victim, running):
        return
    victim[0].kill9()
    alive = [r for r in rs if r is not victim[0]]
    done = alive[0].wait(b["id"], ("succeeded", "failed"), timeout=600)
    check("another replica finishes the killed replica's build after its lease (attempts 2)",
          done and done["state"] == "succeeded" and done["attempts"] == 2 and
          worker_replica(done) != victim[0].name, done and (done["state"], done["attempts"], done.get("worker")))
    rows = c.psql("SELECT count(*) FROM builds WHERE id = '%s'" % b["id"])
    keys = c.s3_keys("%s/artifacts/%s/" % (c.prefix, b["id"])) or []
    pointers = [k for k in keys if k.endswith(".json")]
    contents = [k for k in keys if not k.endswith(".json")]
    check("one row, and only the finished artifacts under its S3 prefix (one content object "
          "per artifact)", rows == "1" and done and len(pointers) == len(done["artifacts"]) and
          len(contents) <= len(pointers), (rows, keys))
    victim[0].start()


def check_kernel_shared(c, images):
    """A kernel uploaded through r1 is listed alike by every replica and builds on another one:
    r1 is stopped before the build, so r2 or r3 must claim it (and read the bundle from S3)."""
    rs = c.replicas
    with open(os.path.join(c.kernel_dir, "bzImage"), "rb") as f:
        body, ctype = multipart({"name": "shared1", "cmdline": "console=ttyS0 reboot=k",
                                 "kernel": f.read()})
    status, k, _ = rs[0].request("POST", "/v1/kernels", body, token=ADMIN,
                                 headers={"Content-Type": ctype}, timeout=120)
    check("an admin uploads kernel shared1 through r1 (201)", status == 201, (status, k))
    listings = [r.request("GET", "/v1/kernels", token=READ)[1] for r in rs]
    check("GET /v1/kernels answers the same on every replica, shared1 included",
          listings[0] == listings[1] == listings[2] and
          "shared1" in [x["name"] for x in listings[0].get("kernels", [])], listings)
    rs[0].stop()
    try:
        req = dict(busybox_request(images, 300), kernel="shared1")
        status, b, _ = rs[1].request("POST", "/v1/builds", req)
        done = rs[1].wait(b.get("id", ""), ("succeeded", "failed"), timeout=300)
        check("a build with shared1 succeeds on a replica that did not receive the upload",
              done and done["state"] == "succeeded" and worker_replica(done) in ("r2", "r3"),
              done and (done["state"], done.get("worker"), done.get("error")))
    finally:
        rs[0].start()
    status, _, _ = rs[2].request("DELETE", "/v1/kernels/shared1", token=ADMIN, raw=True)
    gone = [r.request("GET", "/v1/kernels/shared1", token=READ)[0] for r in rs]
    check("DELETE through r3 removes it for every replica (404 everywhere)",
          status == 204 and gone == [404, 404, 404], (status, gone))


def readiness(daemon):
    try:
        return daemon.request("GET", "/readyz", token=None, timeout=10)
    except OSError as e:
        return None, str(e), {}


def wait_ready(daemon, want, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body, _ = readiness(daemon)
        if (status == 200) == want:
            return status, body
        time.sleep(0.5)
    return readiness(daemon)[:2]


def check_postgres_restart(c, images, pg):
    """PostgreSQL down: not ready, 503s; back: ready by itself, nothing lost."""
    rs = c.replicas
    status, b, _ = rs[0].request("POST", "/v1/builds", busybox_request(images, 100))
    pg.halt()
    status, body = wait_ready(rs[1], False, timeout=30)
    check("with PostgreSQL down /readyz answers 503 naming the database",
          status == 503 and "database" in json.dumps(body).lower(), (status, body))
    p = rs[1].request("POST", "/v1/builds", busybox_request(images, 101))
    check("and POST /v1/builds answers 503 with Retry-After",
          p[0] == 503 and p[2].get("Retry-After"), p[:2])
    time.sleep(2)
    pg.resume()
    ok = [wait_ready(r, True, timeout=60)[0] == 200 for r in rs]
    check("PostgreSQL back: every replica is ready again by itself", all(ok), ok)
    done = rs[2].wait(b["id"], ("succeeded", "failed"), timeout=300)
    check("the build accepted before the outage succeeds", done and done["state"] == "succeeded", done)
    status, again, _ = rs[1].request("POST", "/v1/builds", busybox_request(images, 101))
    check("the refused POST, sent again, is accepted", status == 202, (status, again))
    rs[1].wait(again.get("id", ""), ("succeeded", "failed"), timeout=300)


def check_wrong_secret(c, images):
    """A replica with a wrong S3 secret is not ready and refuses builds; fixed, it is ready."""
    bad = c.replica("r-badsecret", secret="not-the-secret")
    try:
        bad.start()
    except SystemExit as e:
        check("a replica with a wrong S3 secret starts (to report not-ready)", False, str(e))
        return
    status, body = wait_ready(bad, False, timeout=30)
    text = json.dumps(body)
    check("with a wrong S3 secret /readyz answers 503 naming the object store and S3's refusal",
          status == 503 and "object store" in text.lower() and "403" in text and
          "not-the-secret" not in text, (status, body))
    p = bad.request("POST", "/v1/builds", busybox_request(images, 200))
    check("and POST answers 503", p[0] == 503, p[:2])
    bad.stop()
    good = c.replica("r-badsecret")
    good.start()
    check("restarted with the right secret it is ready", wait_ready(good, True)[0] == 200)
    good.stop()


def check_stop_while_waiting_for_database(c):
    """A replica whose database is not up waits for it (replicas start with their database), but
    SIGTERM still stops it at once: the stop signals are blocked from the start, so that wait
    must watch for them rather than sleep through them."""
    nobody = "postgresql://postgres@127.0.0.1:%d/postgres" % free_port()  # nothing listens
    r = c.replica("r-nodb")
    r.cmd[r.cmd.index(c.pg["url"])] = nobody
    proc = subprocess.Popen(r.cmd, stdout=open(r.log, "a"), stderr=subprocess.STDOUT, env=r.env)
    waiting = False
    for _ in range(100):  # bounded: 20 s
        time.sleep(0.2)
        with open(r.log) as f:
            waiting = "trying again in 2 s" in f.read()
        if waiting or proc.poll() is not None:
            break
    started = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    took = time.time() - started
    with open(r.log) as f:
        log = f.read()
    check("with its database down a replica waits for it, saying so, and SIGTERM stops it within "
          "5 s, naming the signal and the database", waiting and took < 5 and code != 0 and
          "signal 15 while waiting for the backends" in log and "127.0.0.1" in log,
          (waiting, round(took, 1), code, log[-500:]))


def check_shared_layer_cache(c, lab):
    """Two replicas, two images sharing layers: each layer leaves the registry once."""
    fault = lab.env["LAB_FAULT"]
    c.stop()  # only these two replicas may claim the two builds
    a, b = c.replica("ra"), c.replica("rb")
    a.start()
    first = a.request("POST", "/v1/builds", {"image": "%s/scale/a:1" % fault})[1]
    done_a = a.wait(first.get("id", ""), ("succeeded", "failed"), timeout=300)
    a.stop()  # so that the other replica, with an empty local cache, must build the second
    b.start()
    second = b.request("POST", "/v1/builds", {"image": "%s/scale/b:1" % fault})[1]
    done_b = b.wait(second.get("id", ""), ("succeeded", "failed"), timeout=300)
    b.stop()
    check("both images build, on two replicas",
          done_a and done_b and done_a["state"] == done_b["state"] == "succeeded" and
          worker_replica(done_a) == "ra" and worker_replica(done_b) == "rb",
          (done_a and done_a.get("worker"), done_b and done_b.get("worker")))
    with open(os.path.join(lab.dir, "logs", "fault.requests")) as f:
        gets = [line.split()[1] for line in f if line.startswith("GET ") and "/blobs/sha256:" in line]
    per_blob = {}
    for path in gets:
        per_blob.setdefault(path.rsplit("/", 1)[1], []).append(path)
    layers = [d for d, p in per_blob.items() if any("/scale/a/" in x for x in p)]
    check("each layer blob of the first image was fetched from the registry once, though the "
          "second image uses it too", layers and all(len(per_blob[d]) == 1 for d in layers),
          {d: len(p) for d, p in per_blob.items()})


def push_to_lab(lab, layouts):
    """skopeo copies each (OCI layout:tag, repository:tag) to the lab's plain registry."""
    for source, target in layouts:
        r = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--preserve-digests",
                            "oci:" + source, "docker://%s/%s" % (lab.env["LAB_PLAIN"], target)],
                           capture_output=True, text=True, timeout=300)
        check("skopeo pushes %s to the lab registry as %s" % (source, target), r.returncode == 0,
              r.stderr)


def run_checks(cluster, images, big, pg, lab):
    done, first = check_thirty_posts(cluster, images)
    check_artifacts_everywhere(cluster, done)
    check_pcrs_match_cli(cluster, images, done.get(first))
    check_follow_and_cancel_elsewhere(cluster, lab)
    check_kernel_shared(cluster, images)
    check_big_eif_range(cluster, big)
    check_kill9_takeover(cluster, big)
    check_postgres_restart(cluster, images, pg)
    check_wrong_secret(cluster, images)
    check_stop_while_waiting_for_database(cluster)
    check_shared_layer_cache(cluster, lab)


def main():
    binary = os.path.abspath(sys.argv[1])
    require_tools("scaleout_e2e.py", ["psql", "skopeo", "curl", "swift-proxy-server"])
    work = tempfile.mkdtemp(prefix="scaleout-e2e-")
    cluster = pg = swift = None
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        big = os.path.join(work, "big")
        make_big_image(big, 96 << 20)
        write_tokens(work)
        pg = postgres.PostgresServer().start()
        s3_state = os.path.join(work, "s3")
        swift = s3.start(s3_state)
        with RegistryLab(os.path.join(work, "lab")) as lab:
            push_to_lab(lab, [("%s/busybox:latest" % images, "scale/a:1"),
                              ("%s/zstd:latest" % images, "scale/b:1"),
                              ("%s:latest" % big, "scale/big:1")])
            cluster = Cluster(binary, work, kernel_dir, pg.state(), swift,
                              extra=["--insecure-registry", lab.env["LAB_FAULT"]])
            cluster.start(3)
            run_checks(cluster, images, big, pg, lab)
    finally:
        if cluster:
            cluster.stop()
        if swift:
            s3.stop(s3_state)
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
