#!/usr/bin/env python3
"""End-to-end checks of what `oci2eif serve` lets an operator observe and stop, against a real
daemon, a real docker-registry (plain HTTP on 127.0.0.1) and the registry lab's fault proxy
(tests/e2e/reglab/faults.py) in front of it:

  - registry metrics: after a build from the registry, /metrics shows
    oci2eif_registry_bytes_pulled_total equal to the config and layer sizes the registry's own
    manifest lists (fetched here with curl) and one cache miss per blob; a second build of the
    image (other options) adds a hit for each blob and no bytes
  - the build log (build.log artifact): one line per layer with index/count, digest, compressed
    size (= the manifest's), uncompressed size (= the gunzipped blob's, computed here), bytes
    downloaded and from the cache; one line per step (resolve, pull, flatten, ramdisks, eif,
    artifacts) with seconds, also the API's `steps`
  - cancel mid-layer: through the proxy sending the layer at a rate that needs >= 120 s, POST
    /cancel once the log says the layer is downloading: the build is `cancelled` within a 30 s
    bound, its scratch directory is gone, it has no artifact, the cache holds no blob of that
    layer (nor a temporary file), and the proxy's log shows the transfer closed early
  - a build timeout (another daemon, build_timeout_seconds 3) on the same slow layer: `failed`
    with error code `timeout`, well before the transfer could end, leaving the cache clean
  - --log-format json: every line the daemons printed parses as JSON with time (UTC, ms),
    level and message, and the lines logged while a build ran carry its id as `build`

usage: observe_e2e.py OCI2EIF_BINARY   (python3, docker-registry, skopeo, curl, the cloud kernel)
Last line: "N passed, M failed".
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_e2e  # noqa: E402  (Daemon, check, tokens)
from serve_e2e import BUILD, READ  # noqa: E402
from ports import free_port  # noqa: E402
from checks import check, summary  # noqa: E402
from fixtures import (make_kernel_bundle, make_test_images, require_tools, start_process,  # noqa: E402
                      remove_work, stop_process, wait_http)

HERE = os.path.dirname(os.path.abspath(__file__))
ACCEPT = ("application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,"
          "application/vnd.docker.distribution.manifest.v2+json,"
          "application/vnd.docker.distribution.manifest.list.v2+json")
STEPS = ["resolve", "pull", "flatten", "eif", "artifacts"]
LAYER_LINE = re.compile(r"^layer (\d+)/(\d+) (sha256:[0-9a-f]{64}): (\d+) bytes compressed, "
                        r"(\d+) uncompressed; downloaded (\d+) bytes, (\d+) bytes from the cache; "
                        r"applied in [0-9]+\.[0-9]{3} s \(\d+ entries so far\)$")
STEP_LINE = re.compile(r"^step ([a-z]+): [0-9]+\.[0-9]{3} s$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CANCEL_BOUND = 30  # s; the slow layer would need at least 120 s


def curl(url, accept=None):
    cmd = ["curl", "-fsS", url] + (["-H", "Accept: " + accept] if accept else [])
    r = subprocess.run(cmd, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit("curl %s: %s" % (url, r.stderr.decode()))
    return r.stdout


def image_blobs(reg, repo, tag):
    """(config, layers) descriptors of the linux/amd64 image, from the registry itself."""
    m = json.loads(curl("http://%s/v2/%s/manifests/%s" % (reg, repo, tag), ACCEPT))
    if "manifests" in m:  # an index: take the amd64 manifest
        d = next(x for x in m["manifests"] if x.get("platform", {}).get("architecture") == "amd64")
        m = json.loads(curl("http://%s/v2/%s/manifests/%s" % (reg, repo, d["digest"]), ACCEPT))
    return m["config"], m["layers"]


def metric(daemon, name):
    status, text, _ = daemon.request("GET", "/metrics", token=None, raw=True)
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None


def build(daemon, image, label):
    # The env makes each request a new build: equal requests would get the earlier build back.
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": image, "labels": {"case": label},
                                                         "env": ["CASE=" + label]})
    if status != 202:
        raise SystemExit("POST /v1/builds: %s %s" % (status, b))
    return b["id"]


def artifact_text(daemon, build_id, name):
    status, body, _ = daemon.request("GET", "/v1/builds/%s/artifacts/%s" % (build_id, name),
                                     token=READ, raw=True)
    return body.decode() if status == 200 else ""


def wait_log(daemon, build_id, needle, timeout=60):
    """True once the build's log contains `needle` (bounded poll)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, log, _ = daemon.request("GET", "/v1/builds/%s/log" % build_id, token=READ, raw=True)
        if status == 200 and needle in log.decode(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def check_layer_lines(log, layers, uncompressed, cached, what):
    """The build log has one line per layer, in order, with the manifest's sizes."""
    lines = [LAYER_LINE.match(line) for line in log.splitlines()]
    lines = [m for m in lines if m]
    ok = len(lines) == len(layers)
    for i, (m, d) in enumerate(zip(lines, layers)):
        ok = ok and int(m.group(1)) == i + 1 and int(m.group(2)) == len(layers)
        ok = ok and m.group(3) == d["digest"] and int(m.group(4)) == d["size"]
        ok = ok and int(m.group(5)) == uncompressed[d["digest"]]
        ok = ok and (int(m.group(6)), int(m.group(7))) == ((0, d["size"]) if cached else (d["size"], 0))
    check("%s: build.log has one line per layer (index/count, digest, compressed and "
          "uncompressed bytes, downloaded/from cache)" % what, ok, log)


def check_step_lines(log, steps, what):
    names = [m.group(1) for m in map(STEP_LINE.match, log.splitlines()) if m]
    check("%s: build.log times each step in order (%s)" % (what, ", ".join(STEPS)),
          names == STEPS, log)
    check("%s: the API's steps are the same" % what,
          [s["step"] for s in steps] == STEPS and all(s["seconds"] >= 0 for s in steps), steps)


def check_json_log(path, build_ids, what):
    lines = [line for line in open(path, errors="replace").read().splitlines() if line.strip()]
    bad, with_build = [], set()
    for line in lines:
        try:
            j = json.loads(line)
            if not (isinstance(j, dict) and TIME.match(j.get("time", "")) and
                    isinstance(j.get("level"), str) and isinstance(j.get("message"), str)):
                bad.append(line)
            elif "build" in j:
                with_build.add(j["build"])
        except ValueError:
            bad.append(line)
    check("%s: every line of --log-format json output is a JSON object with time, level and "
          "message (%d lines)" % (what, len(lines)), lines and not bad, bad[:5])
    check("%s: the lines logged while a build ran carry its id" % what,
          set(build_ids) <= with_build, (build_ids, with_build))


def check_no_leftovers(data, build_id, layer, what):
    check("%s: its scratch directory is removed" % what,
          not os.path.exists(os.path.join(data, "scratch", build_id)))
    art = os.path.join(data, "artifacts", build_id)
    check("%s: no artifact was left" % what,
          not os.path.isdir(art) or os.listdir(art) == [], os.listdir(art) if os.path.isdir(art) else None)
    check("%s: the cache holds no blob of the stopped layer, nor a temporary file" % what,
          not os.path.exists(os.path.join(data, "cache", "blobs", "sha256", layer[7:])) and
          os.listdir(os.path.join(data, "cache", "tmp")) == [],
          os.listdir(os.path.join(data, "cache", "tmp")))


def proxy_closed_early(proxy_log, layer, slow_seconds):
    """Seconds the proxy spent on the slow layer's GET once it logged it (bounded wait), or None."""
    deadline = time.time() + CANCEL_BOUND
    while time.time() < deadline:
        for line in open(proxy_log).read().splitlines():
            parts = line.split()
            if len(parts) == 6 and parts[1].endswith("/blobs/" + layer) and parts[3] == "slow":
                return float(parts[5]) - float(parts[4])
        time.sleep(0.2)
    return None


def slow_layer_build(daemon, proxy, fault_url, image, layer, label):
    """Starts a build of `image` through the proxy with every blob slowed; returns its id once
    the log shows `layer` downloading (checked)."""
    subprocess.run(["curl", "-fsS", "-X", "POST", fault_url], check=True, capture_output=True)
    build_id = build(daemon, "%s/%s" % (proxy, image), label)
    check("%s: the build log shows the slow layer downloading" % label,
          wait_log(daemon, build_id, layer + ": downloading"))
    return build_id


def main():
    binary = os.path.abspath(sys.argv[1])
    require_tools("observe_e2e", ("docker-registry", "skopeo", "curl"))
    work = tempfile.mkdtemp(prefix="observe-e2e-")
    daemon = timed = registry = proxy_proc = None
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        reg_port, proxy_port = free_port(), free_port()
        reg, proxy = "127.0.0.1:%d" % reg_port, "127.0.0.1:%d" % proxy_port
        with open(os.path.join(work, "registry.yml"), "w") as f:
            f.write("version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s/storage}}\n"
                    "http: {addr: %s, secret: observe-e2e}\n" % (work, reg))
        registry = start_process(["docker-registry", "serve", os.path.join(work, "registry.yml")],
                         os.path.join(work, "registry.log"))
        proxy_log = os.path.join(work, "proxy.requests")
        proxy_proc = start_process([sys.executable, os.path.join(HERE, "reglab", "faults.py"), "--port",
                            str(proxy_port), "--upstream", reg, "--log", proxy_log],
                           os.path.join(work, "proxy.log"))
        if not (wait_http("http://%s/v2/" % reg) and wait_http("http://%s/v2/" % proxy)):
            raise SystemExit("registry or proxy did not start: " + open(os.path.join(work, "registry.log")).read())
        for name in ("busybox", "busybox-relayered"):
            r = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--preserve-digests",
                                "oci:%s/%s:latest" % (images, name), "docker://%s/test/%s:v1" % (reg, name)],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise SystemExit("skopeo copy %s: %s" % (name, r.stderr))

        # What the registry says the image is: the expected figures, independent of oci2eif.
        config, layers = image_blobs(reg, "test/busybox", "v1")
        blobs = {d["digest"]: d["size"] for d in [config] + layers}
        uncompressed = {d["digest"]: len(gzip.decompress(curl("http://%s/v2/test/busybox/blobs/%s" % (reg, d["digest"]))))
                        for d in layers}

        serve_e2e.write_tokens(work)
        daemon = serve_e2e.Daemon(binary, work, kernel_dir, free_port())
        daemon.cmd += ["--log-format", "json"]
        daemon.start()
        data = os.path.join(work, "data")

        # 1. Registry metrics and the build log, first build: every blob downloaded.
        image = "%s/test/busybox:v1" % reg
        first = build(daemon, image, "first")
        done = daemon.wait(first, ("succeeded", "failed", "cancelled"))
        check("the first registry build succeeds", done and done["state"] == "succeeded", done)
        pulled = metric(daemon, "oci2eif_registry_bytes_pulled_total")
        misses = metric(daemon, "oci2eif_blob_cache_misses_total")
        hits = metric(daemon, "oci2eif_blob_cache_hits_total")
        check("/metrics: bytes pulled = config + layer sizes from the registry's manifest (%d)"
              % sum(blobs.values()), pulled == sum(blobs.values()), pulled)
        # (The API resolves the image before queueing, so the worker may find the config cached.)
        check("/metrics: one cache miss per blob (%d): each downloaded once" % len(blobs),
              misses == len(blobs), (misses, hits))
        log = artifact_text(daemon, first, "build.log")
        check_layer_lines(log, layers, uncompressed, False, "first build")
        check_step_lines(log, done["steps"] if done else [], "first build")

        # 2. The same image again: all from the cache.
        second = build(daemon, image, "second")
        done = daemon.wait(second, ("succeeded", "failed", "cancelled"))
        check("the second build of the image succeeds", done and done["state"] == "succeeded", done)
        check("/metrics: the second build adds a hit for each blob and no bytes or misses",
              metric(daemon, "oci2eif_blob_cache_hits_total") >= hits + len(blobs) and
              metric(daemon, "oci2eif_registry_bytes_pulled_total") == pulled and
              metric(daemon, "oci2eif_blob_cache_misses_total") == misses,
              (metric(daemon, "oci2eif_blob_cache_hits_total"),
               metric(daemon, "oci2eif_registry_bytes_pulled_total")))
        check_layer_lines(artifact_text(daemon, second, "build.log"), layers, uncompressed, True,
                          "second build")

        # 3. Cancel while a layer crawls through the proxy.
        _, slow_layers = image_blobs(reg, "test/busybox-relayered", "v1")
        big = max(slow_layers, key=lambda d: d["size"])
        rate = max(2048, big["size"] // 120)  # >= 2 KiB/s: above the client's stall limit
        slow_seconds = big["size"] / rate
        fault = "http://%s/_fault?mode=slow&arg=%d&count=100" % (proxy, rate)
        cancelled = slow_layer_build(daemon, proxy, fault, "test/busybox-relayered:v1",
                                     big["digest"], "cancel")
        asked = time.time()
        status, _, _ = daemon.request("POST", "/v1/builds/%s/cancel" % cancelled)
        done = daemon.wait(cancelled, ("succeeded", "failed", "cancelled"), timeout=CANCEL_BOUND)
        took = time.time() - asked
        print("info - cancel → cancelled in %.2f s; the layer (%d bytes at %d B/s) needed %.0f s"
              % (took, big["size"], rate, slow_seconds), flush=True)
        check("a cancel during a slow layer download ends the build `cancelled` within %d s "
              "(the layer alone needs %.0f s)" % (CANCEL_BOUND, slow_seconds),
              status == 202 and done is not None and done["state"] == "cancelled" and
              done.get("error", {}).get("code") == "cancelled", (status, done))
        check("the cancelled build has no image.eif",
              daemon.request("GET", "/v1/builds/%s/artifacts/image.eif" % cancelled, token=READ,
                             raw=True)[0] == 404)
        check_no_leftovers(data, cancelled, big["digest"], "cancelled build")
        spent = proxy_closed_early(proxy_log, big["digest"], slow_seconds)
        check("the proxy saw the slow layer's connection closed early (after %s s of %.0f)"
              % ("%.1f" % spent if spent is not None else "?", slow_seconds),
              spent is not None and spent < slow_seconds / 2, spent)
        subprocess.run(["curl", "-fsS", "-X", "DELETE", "http://%s/_fault" % proxy], capture_output=True)

        # 4. A build timeout stops the same download: another daemon, 3 s per build.
        twork = os.path.join(work, "timeout")
        os.makedirs(twork)
        shutil.copy(os.path.join(work, "tokens"), twork)
        with open(os.path.join(twork, "serve.json"), "w") as f:
            json.dump({"build_timeout_seconds": 3}, f)
        timed = serve_e2e.Daemon(binary, twork, kernel_dir, free_port())
        timed.cmd += ["--log-format", "json", "--config", os.path.join(twork, "serve.json")]
        timed.start()
        started = time.time()
        slow = slow_layer_build(timed, proxy, fault, "test/busybox-relayered:v1", big["digest"], "timeout")
        done = timed.wait(slow, ("succeeded", "failed", "cancelled"), timeout=CANCEL_BOUND)
        print("info - timeout build ended %.2f s after it was submitted (timeout 3 s)"
              % (time.time() - started), flush=True)
        check("a build over its timeout during a slow layer ends `failed` with code timeout",
              done is not None and done["state"] == "failed" and done.get("error", {}).get("code") == "timeout",
              done)
        check_no_leftovers(os.path.join(twork, "data"), slow, big["digest"], "timed-out build")
        subprocess.run(["curl", "-fsS", "-X", "DELETE", "http://%s/_fault" % proxy], capture_output=True)
        timed.stop()
        daemon.stop()

        # 5. Both daemons logged JSON only.
        check_json_log(daemon.log, [first, second, cancelled], "first daemon")
        check_json_log(timed.log, [slow], "timeout daemon")
    finally:
        for d in (daemon, timed):
            if d:
                d.stop()
        stop_process(proxy_proc)
        stop_process(registry)
        remove_work(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
