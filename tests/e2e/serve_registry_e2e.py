#!/usr/bin/env python3
"""End-to-end checks of `oci2eif serve` pulling from the real registry lab (reglab/lab.sh:
docker-registry behind TLS from a throwaway CA, bearer tokens from tokens.py, a fault proxy):

  - the busybox test image, pushed to the token registry with the lab's credentials, is built
    by a daemon that trusts the lab CA (--registry-ca) and reads the credentials from
    $DOCKER_CONFIG/config.json; the token server saw the daemon log in
  - image.eif downloads whole and by Range; `oci2eif describe --json` of it, the API's `pcrs`,
    pcr.json and an `oci2eif build` of the local OCI layout agree on PCR0/1/2
  - the downloaded EIF boots under QEMU and the image's app prints what it should
  - a build is pinned to the digest its tag named when it was requested: the tag moved while
    the build waited in the queue, and it still built the earlier digest
  - POSTing the same request again returns that build (200, same id): the API resolved the
    tag through the token registry before queueing
  - the build's image_digest, build.json's manifest digest and the EIF's metadata are the
    registry's manifest digest (skopeo inspect)
  - a full queue (max_queue 2, one worker, the running build's blobs held by the fault proxy)
    answers 429 with Retry-After and problem+json `queue_full`; released, it drains and
    accepts again
  - a wrong password fails the build with a message naming the token server and the refusal;
    no password appears in the record, the build log or the serve log
  - `push` (a signed build, push_targets allowing test/busybox): the EIF lands in the registry
    as an OCI artifact whose subject is the image, the provenance as its referrer; push.json,
    image.eif and provenance.intoto.jsonl agree with what skopeo reads back; a push outside
    push_targets is a 400 and queues nothing

usage: serve_registry_e2e.py OCI2EIF_BINARY
       (root; python3, docker-registry, skopeo, qemu-system-x86, the Debian cloud kernel)
Last line: "N passed, M failed".
"""
import base64
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_e2e  # noqa: E402  (Daemon, check, tokens)
from serve_e2e import BUILD, READ  # noqa: E402
from ports import free_port  # noqa: E402
from checks import check, summary  # noqa: E402
from fixtures import (RegistryLab, boot_eif, busybox_console, make_kernel_bundle,  # noqa: E402
                      make_test_images, require_tools, write_docker_config)

PCRS = ("PCR0", "PCR1", "PCR2")
WRONG_PASSWORD = "not-the-lab-password-5c1e"
MAX_QUEUE = 2
DSSE_TYPE = "application/vnd.dsse.envelope.v1+json"
VECTOR_INPUTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                             "eif-vectors", "inputs")
FINISHED = ("succeeded", "failed", "cancelled")


class Suite:
    """What every scenario uses: the binary, the work directory, the test images, the kernel
    bundle and the running lab."""

    def __init__(self, binary, work, lab):
        self.bin = binary
        self.work = work
        self.lab = lab
        self.env = lab.env
        self.images = make_test_images(os.path.join(work, "images"))
        self.kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        self.busybox = "%s/test/busybox:latest" % self.env["LAB_TOKEN"]

    def daemon(self, name, password, config=None):
        """A started `oci2eif serve` in WORK/NAME (one worker), trusting the lab CA, with
        `password` for the token registry in its DOCKER_CONFIG; `config`: its JSON file."""
        home = os.path.join(self.work, name)
        os.makedirs(home)
        serve_e2e.write_tokens(home)
        d = serve_e2e.Daemon(self.bin, home, self.kernel_dir, free_port())
        d.cmd += ["--registry-ca", self.env["LAB_CA"]]
        if config is not None:
            with open(os.path.join(home, "serve.json"), "w") as f:
                json.dump(config, f)
            d.cmd += ["--config", os.path.join(home, "serve.json")]
        docker = write_docker_config(os.path.join(home, "docker"),
                                     {self.env["LAB_TOKEN"]: (self.env["LAB_USER"], password)})
        d.env = dict(os.environ, DOCKER_CONFIG=docker)
        d.start()
        return d

    def skopeo(self, command, creds_flag, *args):
        """skopeo COMMAND with the lab credentials (CREDS_FLAG: --creds, --dest-creds, …)."""
        creds = "%s:%s" % (self.env["LAB_USER"], self.env["LAB_PASS"])
        return subprocess.run(["skopeo", command, creds_flag, creds, *args], capture_output=True,
                              text=True, timeout=120)


def token_log_count(suite, line):
    with open(os.path.join(suite.env["LAB_DIR"], "logs", "tokens.requests")) as f:
        return sum(1 for entry in f if entry.rstrip("\n") == line)


def push(suite, image, target):
    """skopeo copy of test image IMAGE to TARGET on the token registry (the lab's storage is
    shared, so every lab registry serves it)."""
    return suite.skopeo("copy", "--dest-creds", "-q", "--preserve-digests",
                        "--dest-cert-dir", suite.lab.cert_dir(),
                        "oci:%s/%s:latest" % (suite.images, image), "docker://" + target)


def registry_digest(suite, reference):
    r = suite.skopeo("inspect", "--creds", "--cert-dir", suite.lab.cert_dir(), "docker://" + reference)
    return json.loads(r.stdout)["Digest"] if r.returncode == 0 else None


def push_busybox(suite):
    r = push(suite, "busybox", suite.busybox)
    return check("skopeo pushes busybox to the token registry with the lab credentials",
                 r.returncode == 0, r.stderr)


def build_through_token_registry(suite, daemon):
    """POSTs the busybox build, polls it to its end; returns the final record or None."""
    logged_in = "%s repository:test/busybox:pull 200" % suite.env["LAB_USER"]
    before = token_log_count(suite, logged_in)
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": suite.busybox})
    if not check("POST a build of %s → 202" % suite.busybox, status == 202, (status, b)):
        return None
    done = daemon.wait(b["id"], FINISHED, timeout=300)
    check("the build through TLS (lab CA) + bearer token auth succeeds",
          done is not None and done["state"] == "succeeded", done)
    check("the token server issued the daemon a token for %s (config.json credentials)" %
          suite.env["LAB_USER"], token_log_count(suite, logged_in) > before)
    return done if done and done["state"] == "succeeded" else None


def download_eif(suite, daemon, done):
    """Downloads image.eif, checks it against the listing and a Range request; returns its path."""
    url = "/v1/builds/%s/artifacts/image.eif" % done["id"]
    status, eif, _ = daemon.request("GET", url, token=READ, raw=True)
    listed = {a["name"]: a for a in done["artifacts"]}.get("image.eif", {})
    check("image.eif downloads with the size and sha256 the build lists",
          status == 200 and len(eif) == listed.get("size") and
          "sha256:" + hashlib.sha256(eif).hexdigest() == listed.get("sha256"), (status, listed))
    first, last = len(eif) // 3, len(eif) // 3 + 99
    status, part, h = daemon.request("GET", url, token=READ, raw=True,
                                     headers={"Range": "bytes=%d-%d" % (first, last)})
    check("Range bytes=%d-%d of image.eif → 206 with those bytes and Content-Range" % (first, last),
          status == 206 and part == eif[first:last + 1] and
          h.get("Content-Range") == "bytes %d-%d/%d" % (first, last, len(eif)),
          (status, len(part), h.get("Content-Range")))
    path = os.path.join(suite.work, "api.eif")
    with open(path, "wb") as f:
        f.write(eif)
    return path


def run_json(cmd):
    """(the command's JSON output, or {} when it fails; its stderr)."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return (json.loads(r.stdout) if r.returncode == 0 else {}), r.stderr


def same_pcrs(a, b):
    return a is not None and b is not None and all(a.get(k) and a.get(k) == b.get(k) for k in PCRS)


def check_pcrs(suite, daemon, done, eif):
    described, err = run_json([suite.bin, "describe", eif, "--json"])
    described = described.get("Measurements")
    check("describe --json of the download gives the API's PCR0/1/2",
          same_pcrs(described, done["pcrs"]), (described, done["pcrs"], err))
    status, pcr, _ = daemon.request("GET", "/v1/builds/%s/artifacts/pcr.json" % done["id"], token=READ)
    check("pcr.json's Measurements are the API's PCR0/1/2",
          status == 200 and same_pcrs(pcr["Measurements"], done["pcrs"]), (status, pcr))
    local, err = run_json([suite.bin, "build", "--oci-layout", suite.images + "/busybox:latest",
                           "--kernel-dir", suite.kernel_dir,
                           "--output", os.path.join(suite.work, "local.eif")])
    local = local.get("Measurements")
    check("`oci2eif build` of the local OCI layout gives the same PCR0/1/2",
          same_pcrs(local, done["pcrs"]), (local, done["pcrs"], err))


def check_image_digest(suite, daemon, done, eif):
    digest = registry_digest(suite, suite.busybox)
    check("skopeo inspect gives the registry's manifest digest", digest is not None)
    check("the build's image_digest is the registry's manifest digest (%s)" % digest,
          digest is not None and done.get("image_digest") == digest, done.get("image_digest"))
    status, prov, _ = daemon.request("GET", "/v1/builds/%s/artifacts/build.json" % done["id"],
                                     token=READ)
    check("build.json lists that manifest digest for the image",
          status == 200 and prov["inputs"]["image"]["manifest_digest"] == digest and
          prov["inputs"]["image"]["reference"] == suite.busybox, (status, prov))
    described, err = run_json([suite.bin, "describe", eif, "--json"])
    metadata = described.get("Metadata", {})
    check("the EIF's metadata carries that manifest digest",
          digest is not None and metadata.get("ImageManifestDigest") == digest, (metadata, err))


def check_boot(suite, eif):
    expect = busybox_console(suite.images)
    extracted, booted, detail = boot_eif(suite.bin, eif, expect)
    check("describe --extract validates the downloaded EIF", extracted, detail)
    check("the downloaded EIF boots under QEMU; the app prints " + "; ".join(expect),
          booted, detail)


def submit(daemon, image, run):
    """POSTs a build that differs from the others by its env (RUN=run), labelled case=queue."""
    return daemon.request("POST", "/v1/builds", {"image": image, "env": ["RUN=" + run],
                                                 "labels": {"case": "queue"}})


def fill_queue(suite, daemon):
    """With the one worker busy, POSTs distinct builds until one is refused (bounded).
    Returns (ids accepted, the refusal (status, body, headers) or None)."""
    accepted = []
    for n in range(1, MAX_QUEUE + 4):
        status, body, headers = submit(daemon, "%s/test/busybox:latest" % suite.env["LAB_PLAIN"],
                                       "q%d" % n)
        if status != 202:
            return accepted, (status, body, headers)
        accepted.append(body["id"])
    return accepted, None


def check_queue_full(suite, daemon):
    # Every blob of the first build trickles through the fault proxy until it is released, so
    # the one worker stays busy while the queue fills: no race with the clock.
    suite.lab.fault("hold", 4096, count=100)
    try:
        status, first, _ = submit(daemon, "%s/test/busybox:latest" % suite.env["LAB_FAULT"], "q0")
        running = daemon.wait(first["id"], ("running",) + FINISHED, timeout=60) if status == 202 else None
        if not check("the first build is running, its blobs held by the fault proxy",
                     running is not None and running["state"] == "running", (status, running)):
            return
        accepted, refused = fill_queue(suite, daemon)
        check("%d more distinct builds are queued (202)" % MAX_QUEUE, len(accepted) == MAX_QUEUE, accepted)
        status, body, headers = refused or (None, {}, {})
        check("the next POST → 429", status == 429, (status, body))
        retry = headers.get("Retry-After", "")
        check("the 429 carries Retry-After: a positive number of seconds (%s)" % retry,
              retry.isdigit() and int(retry) > 0, dict(headers))
        check("its body is problem+json: status 429, code queue_full, the limit and the wait",
              headers.get("Content-Type") == "application/problem+json" and
              isinstance(body, dict) and body.get("status") == 429 and
              body.get("code") == "queue_full" and
              "(%d queued)" % MAX_QUEUE in body.get("detail", "") and
              "retry after %s s" % retry in body.get("detail", ""), body)
        _, listed, _ = daemon.request("GET", "/v1/builds?label=case%3Dqueue", token=READ)
        check("the refused POST made no build (%d rows)" % (MAX_QUEUE + 1),
              len(listed["builds"]) == MAX_QUEUE + 1, [b["id"] for b in listed["builds"]])
        _, still, _ = daemon.request("GET", "/v1/builds/" + first["id"], token=READ)
        check("the first build was still running when the queue filled",
              still["state"] == "running", still["state"])
    finally:
        suite.lab.fault(None, 0)  # releases the held bodies
    finals = [daemon.wait(i, FINISHED, timeout=300) for i in [first["id"]] + accepted]
    check("released, the queue drains: all %d builds succeed" % len(finals),
          all(f is not None and f["state"] == "succeeded" for f in finals),
          [f and (f["state"], f.get("error")) for f in finals])
    _, queued, _ = daemon.request("GET", "/v1/builds?state=queued", token=READ)
    check("nothing is left queued", queued["builds"] == [], queued)
    status, again, _ = submit(daemon, "%s/test/busybox:latest" % suite.env["LAB_PLAIN"], "after")
    done = daemon.wait(again["id"], FINISHED, timeout=300) if status == 202 else None
    check("a POST after the drain is accepted (202) and succeeds",
          done is not None and done["state"] == "succeeded", (status, done))


def check_tag_moved_while_queued(suite, daemon):
    """A build is pinned to what its tag named when it was requested: the tag moving while it
    waits in the queue changes nothing (its input key, which answers equal requests, stays true)."""
    moving = "test/moving:1"
    before = registry_digest(suite, suite.env["LAB_TOKEN"] + "/" + moving) \
        if push(suite, "busybox", suite.env["LAB_TOKEN"] + "/" + moving).returncode == 0 else None
    suite.lab.fault("hold", 4096, count=100)  # keeps the one worker busy with a first build
    try:
        status, first, _ = submit(daemon, "%s/test/busybox:latest" % suite.env["LAB_FAULT"], "hold-for-move")
        daemon.wait(first["id"], ("running",) + FINISHED, timeout=60)
        status, queued, _ = submit(daemon, "%s/%s" % (suite.env["LAB_PLAIN"], moving), "moving")
        after = registry_digest(suite, suite.env["LAB_TOKEN"] + "/" + moving) \
            if push(suite, "busybox-relayered", suite.env["LAB_TOKEN"] + "/" + moving).returncode == 0 else None
        check("the tag moved while the build was queued (%s → %s)" % (before, after),
              status == 202 and before and after and before != after, (status, before, after))
    finally:
        suite.lab.fault(None, 0)
    done = daemon.wait(queued["id"], FINISHED, timeout=300) if status == 202 else None
    check("the queued build built the digest its tag named when requested, not the moved tag",
          done is not None and done["state"] == "succeeded" and done["image_digest"] == before,
          done and (done["state"], done.get("image_digest"), done.get("error")))
    _, log, _ = daemon.request("GET", "/v1/builds/%s/log" % queued["id"], token=READ, raw=True)
    check("its log says it was pinned to that digest",
          before is not None and ("pinned to " + before).encode() in log, log[-400:])
    daemon.wait(first["id"], FINISHED, timeout=300)


def check_same_request_reused(suite, daemon, done):
    """The API resolves the tag through the token registry before queueing: equal inputs."""
    status, again, _ = daemon.request("POST", "/v1/builds", {"image": suite.busybox})
    check("the same registry POST again returns the succeeded build (200, same id)",
          status == 200 and again["id"] == done["id"] and again["state"] == "succeeded",
          (status, again))


def secrets(user, password):
    """The forms a password could leak in: itself and the Basic credential carrying it."""
    return [password, base64.b64encode(("%s:%s" % (user, password)).encode()).decode()]


def leaks(texts, secret_forms):
    return [s for s in secret_forms for t in texts if s in t]


def check_wrong_password(suite, daemon):
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": suite.busybox,
                                                         "env": ["RUN=wrong-password"]})
    done = daemon.wait(b["id"], FINISHED, timeout=300) if status == 202 else None
    error = (done or {}).get("error") or {}
    check("a wrong password in config.json fails the build (failed, unauthorized)",
          done is not None and done["state"] == "failed" and error.get("code") == "unauthorized",
          (status, done))
    message = error.get("message", "")
    wanted = ["token server https://" + suite.env["LAB_TOKENS"], "for " + suite.env["LAB_TOKEN"],
              "HTTP 401", "the credentials were refused"]
    check("its message names the token server, the registry and the refusal",
          all(w in message for w in wanted), message)
    _, log, _ = daemon.request("GET", "/v1/builds/%s/log" % b["id"], token=READ, raw=True)
    log = log.decode(errors="replace") if isinstance(log, bytes) else str(log)
    check("the build log ends with that message",
          message != "" and log.rstrip("\n").endswith(message), log[-500:])
    with open(daemon.log) as f:
        serve_log = f.read()
    found = leaks([json.dumps(done), log, serve_log], secrets(suite.env["LAB_USER"], WRONG_PASSWORD))
    check("the wrong password appears nowhere: record, build log, serve log", not found, found)


def check_no_leftovers(pids):
    alive = []
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.append(pid)
        except FileNotFoundError:
            pass
    check("no process of this test is left (lab, daemons)", not alive, alive)


def push_config(suite):
    """The good daemon's configuration: pushes to test/busybox only, signing key "vec"."""
    return {"push_targets": [suite.env["LAB_TOKEN"] + "/test/busybox"],
            "signing_keys": [{
                "name": "vec", "certificate": os.path.join(VECTOR_INPUTS, "signing-cert-p384.pem"),
                "private_key": os.path.join(VECTOR_INPUTS, "signing-key-p384.pem")}]}


def artifact(daemon, done, name):
    status, body, _ = daemon.request("GET", "/v1/builds/%s/artifacts/%s" % (done["id"], name),
                                     token=READ, raw=True)
    return body if status == 200 else None


def skopeo_raw(suite, reference):
    r = suite.skopeo("inspect", "--creds", "--raw", "--cert-dir", suite.lab.cert_dir(),
                     "docker://" + reference)
    return r.stdout if r.returncode == 0 else None


def sha256_of(data):
    return "sha256:" + hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


def check_pushed_artifacts(suite, daemon, done, target):
    """What the registry holds (skopeo) against the build's push.json, EIF and provenance."""
    pushed = json.loads(artifact(daemon, done, "push.json") or b"{}")
    eif, provenance = artifact(daemon, done, "image.eif"), artifact(daemon, done,
                                                                      "provenance.intoto.jsonl")
    check("push.json names the subject: the image the tag named (skopeo)",
          pushed.get("subject") == registry_digest(suite, suite.busybox), pushed)
    raw = skopeo_raw(suite, target)
    check("skopeo reads the EIF artifact at the target, the digest push.json states",
          raw is not None and sha256_of(raw) == pushed.get("digest"), pushed)
    m = json.loads(raw or "{}")
    check("its layer is the build's image.eif", eif is not None and
          m.get("layers", [{}])[0].get("digest") == sha256_of(eif), m)
    prov = (pushed.get("provenance") or {}).get("digest")
    raw = skopeo_raw(suite, target.rsplit(":", 1)[0] + "@" + prov) if prov else None
    p = json.loads(raw or "{}")
    check("the provenance referrer holds the build's provenance.intoto.jsonl, subject the EIF",
          p.get("artifactType") == DSSE_TYPE and provenance is not None and
          p["layers"][0]["digest"] == sha256_of(provenance) and
          p.get("subject", {}).get("digest") == pushed.get("digest"), (pushed, p))
    if eif is None or provenance is None:
        return
    paths = [os.path.join(suite.work, "pushed" + ext) for ext in (".eif", ".intoto.jsonl")]
    for path, data in zip(paths, (eif, provenance)):
        with open(path, "wb") as f:
            f.write(data)
    r = subprocess.run([suite.bin, "verify", paths[0], "--provenance", paths[1], "--certificate",
                        os.path.join(VECTOR_INPUTS, "signing-cert-p384.pem")],
                       capture_output=True, text=True, timeout=120)
    check("oci2eif verify accepts the pushed build's EIF and provenance", r.returncode == 0,
          r.stdout + r.stderr)


def check_service_push(suite, daemon):
    target = suite.env["LAB_TOKEN"] + "/test/busybox:served-eif"
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": suite.busybox, "push": target,
                                                         "signing_key": "vec"})
    if not check("POST a signed build with push → 202", status == 202, (status, b)):
        return
    done = daemon.wait(b["id"], FINISHED, timeout=300)
    if not check("the pushing build succeeds", done is not None and done["state"] == "succeeded",
                 done):
        return
    check("push.json is among its artifacts", "push.json" in {a["name"] for a in done["artifacts"]},
          done["artifacts"])
    check_pushed_artifacts(suite, daemon, done, target)
    status, body, _ = daemon.request("POST", "/v1/builds", {
        "image": suite.busybox, "push": suite.env["LAB_TOKEN"] + "/test/other:eif"})
    check("a push outside push_targets → 400 naming it",
          status == 400 and "push_targets" in json.dumps(body), (status, body))


def lab_pids(lab):
    pids_dir = os.path.join(lab.dir, "pids")
    return [int(open(os.path.join(pids_dir, n)).read()) for n in os.listdir(pids_dir)]


def run(suite, stack, pids):
    if not push_busybox(suite):
        return
    good = suite.daemon("good", suite.env["LAB_PASS"], push_config(suite))
    stack.callback(good.stop)
    pids.append(good.proc.pid)
    done = build_through_token_registry(suite, good)
    if done:
        eif = download_eif(suite, good, done)
        check_pcrs(suite, good, done, eif)
        check_image_digest(suite, good, done, eif)
        check_boot(suite, eif)
        check_same_request_reused(suite, good, done)
        with open(good.log) as f:
            found = leaks([f.read()], secrets(suite.env["LAB_USER"], suite.env["LAB_PASS"]))
        check("the lab password appears nowhere in the serve log", not found, found)
        check_service_push(suite, good)
    queue = suite.daemon("queue", WRONG_PASSWORD, {"max_queue": MAX_QUEUE})
    stack.callback(queue.stop)
    pids.append(queue.proc.pid)
    check_queue_full(suite, queue)
    check_tag_moved_while_queued(suite, queue)
    check_wrong_password(suite, queue)


def main():
    binary = os.path.abspath(sys.argv[1])
    require_tools("serve_registry_e2e", ("docker-registry", "skopeo", "qemu-system-x86_64"))
    work = tempfile.mkdtemp(prefix="serve-registry-e2e-")
    pids = []
    try:
        with contextlib.ExitStack() as stack:
            lab = stack.enter_context(RegistryLab(os.path.join(work, "lab")))
            pids += lab_pids(lab)
            run(Suite(binary, work, lab), stack, pids)
        check_no_leftovers(pids)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
