#!/usr/bin/env python3
"""End-to-end checks of `oci2eif serve`: a real daemon on 127.0.0.1 (free port, temp data dir),
real SQLite, real builds of the project's test images, real HTTP.

  - POST a busybox build (oci-layout), poll to succeeded, download image.eif; its PCRs from
    `oci2eif describe --json` equal the API's
  - the same POST twice with one Idempotency-Key gives one build; a POST whose resolved inputs
    equal an earlier build's (labels aside) gets that build back (200, same id), no new row
  - local images only below --local-images: another path, a relative one, or a symlink leading
    out of the allowed directory → 400
  - sealed local images: a layout whose blobs/ or index.json is a link out of the allowed
    directory, or a /proc/self/root detour, is refused naming the escape, and no error echoes the
    size, digest or bytes of the file outside; a relative link inside the directory still builds
  - kill -9 while a (large) build runs, restart: the build completes, one row
  - SIGTERM while a large build runs: POSTs get 503 while it drains, the process exits 0, the
    build either finished or was released to the queue (not left "running"), and after a
    restart it completes; one row
  - DELETE /v1/builds/{id}: 409 while running, 204 once finished; then the build and its
    artifacts answer 404
  - kernels: GET /v1/kernels lists the configured bundle (digests = the files' sha256) and
    nitro-cli (OCI2EIF_NITRO_CLI_BLOBS); an admin uploads one (multipart), it is listed and
    stored under data/kernels/NAME/, a build uses it; 403 for a build token, 409 for a second
    upload of the name and for deleting the default; DELETE then 404
  - GET /v1/builds/{id}/log?follow=1 streams a fresh build's log until it ends
  - 20 concurrent clients each submit 2 builds (distinct labels) and poll them to the end: no
    HTTP error, all succeeded, no duplicate ids, one row per submission
  - signing: a request naming the configured key "vec" gets PCR8 = `oci2eif pcr` of the
    certificate, an EIF whose signature verifies, its metadata in the EIF, and build.json
    records the key; an unknown key or a reserved metadata key → 400; serve refuses to start
    with a mismatched key pair, or a webhook rule naming an unknown key or kernel
  - auth (401 without a token, 403 for a read token POSTing) and validation errors
    (malformed JSON, unknown field, a malformed image reference, unknown kernel), Range on image.eif

usage: serve_e2e.py OCI2EIF_BINARY   (python3, the Debian cloud kernel in /boot)
Last line: "N passed, M failed".
"""
import hashlib
import http.server
import base64
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from fixtures import make_kernel_bundle, make_test_images  # noqa: E402
from ports import free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
READ = "read-token-0123456789abcdef"
BUILD = "build-token-0123456789abcdef"
ADMIN = "admin-token-0123456789abcdef"


def sha256_file(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def multipart(fields):
    """(body, content type) for multipart/form-data; values are str or bytes (a file)."""
    boundary = "oci2eif-e2e-boundary-7d1f"
    out = b""
    for name, value in fields.items():
        disp = 'form-data; name="%s"' % name
        if isinstance(value, bytes):
            disp += '; filename="%s"' % name
        else:
            value = value.encode()
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n\r\n"
        out += value + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary




def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def make_big_image(layout, size):
    """An OCI layout whose one uncompressed layer holds `size` random bytes, so that its build
    runs long enough to be killed mid-way."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    payload = os.path.join(layout, "big.bin")
    with open(payload, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    tar_path = os.path.join(layout, "layer.tar")
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as t:
        info = t.gettarinfo(payload, "big.bin")
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        with open(payload, "rb") as f:
            t.addfile(info, f)
    with open(tar_path, "rb") as f:
        layer = f.read()
    os.remove(payload)
    os.remove(tar_path)
    diff = "sha256:" + hashlib.sha256(layer).hexdigest()
    ldesc = blob(layout, layer)
    ldesc["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/big.bin"]},
              "rootfs": {"type": "layers", "diff_ids": [diff]}}
    cdesc = blob(layout, json.dumps(config).encode())
    cdesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cdesc, "layers": [ldesc]}
    mdesc = blob(layout, json.dumps(manifest).encode())
    mdesc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [mdesc]}, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')


def write_tokens(work):
    """WORK/tokens, the --token-file of Daemon: one token per role (READ, BUILD, ADMIN)."""
    with open(os.path.join(work, "tokens"), "w") as f:
        f.write("read %s reader\nbuild %s ci\nadmin %s ops\n" % (READ, BUILD, ADMIN))


class Daemon:
    def __init__(self, binary, work, kernel_dir, port):
        self.cmd = [binary, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir",
                    os.path.join(work, "data"), "--kernel-dir", "cloud=" + kernel_dir,
                    "--workers", "1", "--token-file", os.path.join(work, "tokens"),
                    "--shutdown-grace", "1", "--local-images", work]
        self.db = os.path.join(work, "data", "jobs.db")
        self.log = os.path.join(work, "serve.log")
        self.base = "http://127.0.0.1:%d" % port
        self.env = None  # the process environment; None: this one's
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
                                     env=self.env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("serve exited: " + open(self.log).read())
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("serve did not answer /healthz in 20 s")

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def request(self, method, path, body=None, token=BUILD, headers=None, raw=False, timeout=30):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                content = r.read()
                return r.status, (content if raw else json.loads(content or b"null")), r.headers
        except urllib.error.HTTPError as e:
            content = e.read()
            try:
                content = json.loads(content)
            except ValueError:
                pass
            return e.code, content, e.headers

    def wait(self, build_id, states, timeout=300, token=READ):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, b, _ = self.request("GET", "/v1/builds/" + build_id, token=token)
            if status == 200 and b["state"] in states:
                return b
            time.sleep(0.05)
        return None


VECTOR_INPUTS = os.path.join(TESTS, "data", "eif-vectors", "inputs")


def write_signing_config(work):
    """A configuration file naming the AWS vectors' P-384 certificate and key as signing key
    "vec" (requests name it; the files stay on the server)."""
    path = os.path.join(work, "config.json")
    with open(path, "w") as f:
        json.dump({"signing_keys": [{
            "name": "vec", "certificate": os.path.join(VECTOR_INPUTS, "signing-cert-p384.pem"),
            "private_key": os.path.join(VECTOR_INPUTS, "signing-key-p384.pem")}]}, f)
    return path


def check_signed_build(binary, work, daemon, busybox, unsigned):
    request = dict(busybox, signing_key="vec", metadata={"team": "enclaves", "ticket": 42})
    status, b, _ = daemon.request("POST", "/v1/builds", request)
    done = daemon.wait(b["id"], ("succeeded", "failed")) if status == 202 else None
    pcr = subprocess.run([binary, "pcr", "--signing-certificate",
                          os.path.join(VECTOR_INPUTS, "signing-cert-p384.pem")],
                         capture_output=True, text=True)
    pcr8 = json.loads(pcr.stdout)["PCR8"] if pcr.returncode == 0 else None
    pcrs = (done or {}).get("pcrs", {})
    unsigned = unsigned or {"PCR0": "(the unsigned build failed)"}
    check("a build signed with a configured key reports PCR8 = `oci2eif pcr` of its certificate, "
          "PCR0-2 as unsigned", done and done["state"] == "succeeded" and pcr8 and
          pcrs.get("PCR8") == pcr8 and all(pcrs.get(k) == unsigned[k] for k in ("PCR0", "PCR1", "PCR2")),
          (status, done, pcr8))
    if not done or done["state"] != "succeeded":
        return
    status, eif, _ = daemon.request("GET", "/v1/builds/%s/artifacts/image.eif" % b["id"], token=READ, raw=True)
    path = os.path.join(work, "signed.eif")
    with open(path, "wb") as f:
        f.write(eif)
    d = subprocess.run([binary, "describe", "--json", path], capture_output=True, text=True)
    described = json.loads(d.stdout) if d.returncode == 0 else {}
    meta = described.get("Metadata", {})
    check("its EIF verifies (SignatureCheck) and carries the request's metadata beside the image's",
          described.get("SignatureCheck") is True and meta.get("team") == "enclaves" and
          meta.get("ticket") == 42 and meta.get("ImageManifestDigest") == done["image_digest"],
          (d.stderr, meta))
    status, prov, _ = daemon.request("GET", "/v1/builds/%s/artifacts/build.json" % b["id"], token=READ)
    check("build.json records the signing key and its PCR8 among the inputs",
          status == 200 and prov["inputs"].get("signing") == {"name": "vec", "pcr8": pcr8}, prov)
    check_service_provenance(binary, work, daemon, b["id"], path, done)


def check_service_provenance(binary, work, daemon, build_id, eif_path, done):
    """A signed build publishes provenance.intoto.jsonl: `oci2eif verify` accepts it with the
    key's certificate, and the statement names this build and the request."""
    status, line, headers = daemon.request(
        "GET", "/v1/builds/%s/artifacts/provenance.intoto.jsonl" % build_id, token=READ, raw=True)
    path = os.path.join(work, "service.intoto.jsonl")
    with open(path, "wb") as f:
        f.write(line if status == 200 else b"")
    cert = os.path.join(VECTOR_INPUTS, "signing-cert-p384.pem")
    v = subprocess.run([binary, "verify", eif_path, "--provenance", path, "--certificate", cert,
                        "--expect-pcr8", done["pcrs"]["PCR8"]], capture_output=True, text=True)
    check("a signed build's provenance.intoto.jsonl verifies against its EIF and certificate",
          status == 200 and v.returncode == 0, (status, v.stdout, v.stderr))
    try:
        statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    except (ValueError, KeyError, TypeError):
        statement = {}
    predicate = statement.get("predicate", {})
    check("its statement names the service, this build and the request it ran",
          predicate.get("runDetails", {}).get("builder", {}).get("id") == "urn:oci2eif:builder:service"
          and predicate["runDetails"].get("metadata", {}).get("invocationId") == build_id
          and predicate["buildDefinition"]["externalParameters"].get("signing_key") == "vec",
          statement)


def serve_refuses(binary, work, kernel_dir, name, config):
    """Starts serve with `config`; returns (exit code, stderr) once it exits (bounded)."""
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump(config, f)
    r = subprocess.run([binary, "serve", "--config", path, "--listen", "127.0.0.1:%d" % free_port(),
                        "--data-dir", os.path.join(work, name + "-data"),
                        "--kernel-dir", "cloud=" + kernel_dir], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr[-500:]


def check_bad_configs_refused(binary, work, kernel_dir):
    key = os.path.join(work, "other-key.pem")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                   check=True, capture_output=True)
    rc, err = serve_refuses(binary, work, kernel_dir, "bad-signing", {"signing_keys": [
        {"name": "bad", "private_key": key,
         "certificate": os.path.join(VECTOR_INPUTS, "signing-cert-p384.pem")}]})
    check("serve refuses a signing key whose private key does not match its certificate (exit 2)",
          rc == 2 and "signing key 'bad'" in err, (rc, err))
    rc, err = serve_refuses(binary, work, kernel_dir, "bad-rule", {"webhooks": {"rules": [
        {"repository": "*", "build": {"signing_key": "nope"}}]}})
    check("serve refuses a webhook rule naming an unknown signing key (exit 2)",
          rc == 2 and "webhooks.rules[0].build: field 'signing_key': 'nope' is not a configured "
          "signing key" in err, (rc, err))
    rc, err = serve_refuses(binary, work, kernel_dir, "bad-rule-kernel", {"webhooks": {"rules": [
        {"repository": "*", "build": {"kernel": "nope"}}]}})
    check("serve refuses a webhook rule naming an unknown kernel (exit 2)",
          rc == 2 and "webhooks.rules[0].build: kernel 'nope' is not configured" in err, (rc, err))
    os.makedirs(os.path.join(work, "damaged-db-data"))
    with open(os.path.join(work, "damaged-db-data", "jobs.db"), "wb") as f:
        f.write(b"\x5a" * 8192)  # overwritten with garbage: not "ready", not 500 per request
    rc, err = serve_refuses(binary, work, kernel_dir, "damaged-db", {})
    check("serve refuses a damaged jobs.db at start (exit 1), naming it and the way out",
          rc == 1 and "damaged-db-data/jobs.db is damaged (file is not a database): restore it "
          "from a backup" in err, (rc, err))


class SilentTokenRegistry:
    """A registry on 127.0.0.1 that answers every request 401 with a Bearer challenge whose
    token server (another socket) accepts connections and never answers."""

    def __init__(self):
        self.token = socket.socket()
        self.token.bind(("127.0.0.1", 0))
        self.token.listen(8)
        realm = "http://127.0.0.1:%d/token" % self.token.getsockname()[1]

        class Challenge(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Bearer realm="%s",service="silent"' % realm)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Challenge)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.token.close()


def post_is_queued_despite(daemon, image, what):
    """POSTs `image`; checks it is queued within the client's 30 s (the pre-queue resolution
    gives up after its 5 s budget instead of waiting out the 60 s timeouts), then cancels it."""
    try:
        status, b, _ = daemon.request("POST", "/v1/builds", {"image": image}, timeout=30)
    except OSError as e:  # the client's 30 s timeout
        status, b = None, repr(e)
    check("POST of an image on %s is queued within the client's 30 s timeout" % what,
          status == 202, (status, b))
    if status == 202:
        daemon.request("POST", "/v1/builds/%s/cancel" % b["id"])
        done = daemon.wait(b["id"], ("cancelled", "failed", "succeeded"), timeout=90)
        check("and cancelling it stops its build", done and done["state"] == "cancelled", done)


def check_silent_registries_do_not_hold_post(daemon):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        post_is_queued_despite(daemon, "127.0.0.1:%d/silent/app:1" % silent.getsockname()[1],
                               "a registry that never answers")
    finally:
        silent.close()
    registry = SilentTokenRegistry()
    try:
        post_is_queued_despite(daemon, "127.0.0.1:%d/silent/app:2" % registry.port,
                               "a registry whose token server never answers")
    finally:
        registry.close()


class Suite:
    """What every check needs: the binary, the work directory, the running daemon, the images."""

    def __init__(self, binary, work, daemon, images, kernel_dir):
        self.binary, self.work, self.daemon = binary, work, daemon
        self.images, self.kernel_dir = images, kernel_dir
        self.busybox = {"image": "oci-layout:%s/busybox:latest" % images, "labels": {"suite": "e2e"}}


def check_listen_backlog(daemon):
    """The listening socket's accept queue is the system's maximum, not httplib's 5."""
    port = daemon.base.rsplit(":", 1)[1]
    r = subprocess.run(["ss", "-Hltn", "sport = :" + port], capture_output=True, text=True, timeout=10)
    fields = r.stdout.split()
    backlog = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else 0
    with open("/proc/sys/net/core/somaxconn") as f:
        somaxconn = int(f.read())
    check("the API listens with the system's backlog (ss Send-Q), not 5",
          backlog == min(somaxconn, 4096) and backlog > 5, (r.stdout, somaxconn))


def check_build_and_artifacts(s):
    """Build, poll, download, compare PCRs; the build list filters."""
    binary, work, daemon, busybox = s.binary, s.work, s.daemon, s.busybox
    status, b, headers = daemon.request("POST", "/v1/builds", busybox)
    check("POST /v1/builds answers 202 with id, state and links",
          status == 202 and b["state"] == "queued" and "self" in b["links"], (status, b))
    done = daemon.wait(b["id"], ("succeeded", "failed"))
    if check("the busybox build succeeds", done and done["state"] == "succeeded", done):
        status, eif, _ = daemon.request("GET", "/v1/builds/%s/artifacts/image.eif" % b["id"],
                                        token=READ, raw=True)
        path = os.path.join(work, "api.eif")
        with open(path, "wb") as f:
            f.write(eif)
        art = {a["name"]: a for a in done["artifacts"]}
        check("image.eif downloads with the size and sha256 the API lists",
              status == 200 and len(eif) == art["image.eif"]["size"] and
              "sha256:" + hashlib.sha256(eif).hexdigest() == art["image.eif"]["sha256"])
        d = subprocess.run([binary, "describe", path, "--json"], capture_output=True, text=True)
        m = json.loads(d.stdout)["Measurements"] if d.returncode == 0 else {}
        check("describe --json of the download gives the API's PCRs",
              all(m.get(k) == v for k, v in done["pcrs"].items()) and len(done["pcrs"]) >= 3,
              (m, done["pcrs"]))
        status, part, h = daemon.request("GET", "/v1/builds/%s/artifacts/image.eif" % b["id"],
                                         token=READ, raw=True, headers={"Range": "bytes=0-3"})
        check("Range on image.eif gives 206 and the EIF magic",
              status == 206 and part == eif[:4], (status, part))
        status, pcr, _ = daemon.request("GET", "/v1/builds/%s/artifacts/pcr.json" % b["id"], token=READ)
        check("pcr.json has nitro-cli's shape",
              status == 200 and pcr["Measurements"]["PCR0"] == done["pcrs"]["PCR0"], pcr)
        # The service checks the file it wrote but takes the PCRs it measured while writing;
        # describe of the download measures them again.
        status, desc, _ = daemon.request("GET", "/v1/builds/%s/artifacts/describe.json" % b["id"],
                                         token=READ)
        check("describe.json equals describe --json of the downloaded EIF",
              status == 200 and d.returncode == 0 and desc == json.loads(d.stdout),
              (status, desc, d.stdout[:400]))
        status, _, _ = daemon.request(
            "GET", "/v1/builds/%s/artifacts/provenance.intoto.jsonl" % b["id"], token=READ)
        check("an unsigned build has no provenance.intoto.jsonl (nothing to sign it with): 404",
              status == 404 and "provenance.intoto.jsonl" not in
              [a["name"] for a in done.get("artifacts", [])], (status, done.get("artifacts")))
        status, prov, _ = daemon.request("GET", "/v1/builds/%s/artifacts/build.json" % b["id"], token=READ)
        check("build.json names the image digest and the input key",
              status == 200 and prov["inputs"]["image"]["manifest_digest"] == done["image_digest"]
              and prov["input_key"] == done["input_key"], prov)
        status, log, _ = daemon.request("GET", "/v1/builds/%s/log" % b["id"], token=READ, raw=True)
        check("the build log shows the layers", status == 200 and b"layer 1/" in log, log)
    status, page, _ = daemon.request("GET", "/v1/builds?label=suite%3De2e&state=succeeded", token=READ)
    check("list filters by label and state", status == 200 and len(page["builds"]) == 1, page)
    return b, done


def check_equal_requests(s, b):
    """Equal resolved inputs (labels aside) answer with the earlier build; no new row."""
    daemon, busybox = s.daemon, s.busybox
    status, again, _ = daemon.request("POST", "/v1/builds", busybox)
    check("the same POST again (no Idempotency-Key) returns the succeeded build: 200, same id",
          status == 200 and again["id"] == b["id"] and again["state"] == "succeeded", (status, again))
    status, again, _ = daemon.request("POST", "/v1/builds", dict(busybox, labels={"other": "x"}))
    check("labels are not inputs: a POST differing only in labels gets the same build",
          status == 200 and again["id"] == b["id"], (status, again))
    status, page, _ = daemon.request("GET", "/v1/builds?label=other%3Dx", token=READ)
    check("the reused build is listed by the labels of the request it answered",
          status == 200 and [x["id"] for x in page["builds"]] == [b["id"]], page)
    status, page, _ = daemon.request("GET", "/v1/builds?image=" + urllib.request.quote(busybox["image"]),
                                     token=READ)
    check("equal inputs made no new row", status == 200 and len(page["builds"]) == 1, page)


def check_log_follow(s, b):
    """A new build's log streams (chunked) until the build ends."""
    daemon, busybox = s.daemon, s.busybox
    status, fb, _ = daemon.request("POST", "/v1/builds",
                                   dict(busybox, labels={"case": "follow"}, env=["CASE=follow"]))
    check("a POST with another env is a new build (202)", status == 202 and fb["id"] != b["id"], (status, fb))
    started = time.time()
    status, streamed, h = daemon.request("GET", "/v1/builds/%s/log?follow=1&timeout=300" % fb["id"],
                                         token=READ, raw=True)
    status2, after, _ = daemon.request("GET", "/v1/builds/" + fb["id"], token=READ)
    check("log?follow=1 streams (chunked) until the build ends, tail included",
          status == 200 and h.get("Transfer-Encoding") == "chunked" and
          after["state"] == "succeeded" and b"artifacts published" in streamed and
          time.time() - started < 300, (status, h.get("Transfer-Encoding"), after.get("state"), streamed[-200:]))
    status, p, _ = daemon.request("GET", "/v1/builds/%s/log?follow=1&timeout=0" % fb["id"], token=READ)
    check("log?follow=1&timeout=0 → 400", status == 400, (status, p))



def check_submit_wait(s):
    """`oci2eif submit --wait`, as a CI job runs it: the log on stderr, the measurements on
    stdout, the EIF and PCRs downloaded and verified; a failing build exits 1."""
    daemon, busybox = s.daemon, s.busybox
    token_file = os.path.join(s.work, "ci-token")
    with open(token_file, "w") as f:
        f.write(BUILD + "\n")
    eif, pcrs = os.path.join(s.work, "submit.eif"), os.path.join(s.work, "submit-pcrs.json")
    r = subprocess.run([s.binary, "submit", busybox["image"], "--server", daemon.base,
                        "--token-file", token_file, "--env", "CASE=submit", "--label", "commit=e2e1",
                        "--wait", "--output", eif, "--pcrs", pcrs, "--timeout", "5m"],
                       capture_output=True, text=True, timeout=400)
    status, page, _ = daemon.request("GET", "/v1/builds?label=commit%3De2e1", token=READ)
    build = page["builds"][0] if status == 200 and len(page["builds"]) == 1 else {}
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    check("submit --wait exits 0 and prints the build's measurements (nitro-cli's shape)",
          r.returncode == 0 and build.get("state") == "succeeded" and
          all(out["Measurements"].get(k) == v for k, v in build["pcrs"].items()),
          (r.returncode, r.stderr[-600:], build))
    art = {a["name"]: a for a in build.get("artifacts", [])}
    check("submit --output wrote the EIF the API lists; --pcrs the measurements",
          os.path.exists(eif) and "image.eif" in art and
          sha256_file(eif) == art["image.eif"]["sha256"] and
          os.path.exists(pcrs) and json.load(open(pcrs)) == out, art)
    check("submit --wait copied the build's log to stderr, ending with its outcome",
          "layer 1/" in r.stderr and "state=succeeded" in r.stderr and BUILD not in r.stderr,
          r.stderr[-600:])
    r = subprocess.run([s.binary, "submit", busybox["image"], "--server", daemon.base,
                        "--token-file", token_file, "--platform", "linux/s390x", "--wait", "-q"],
                       capture_output=True, text=True, timeout=400)
    check("submit --wait of a build that fails exits 1 and says why",
          r.returncode == 1 and "failed:" in r.stderr and "linux/s390x" in r.stderr,
          (r.returncode, r.stderr[-600:]))


REPO = os.path.dirname(os.path.dirname(HERE))


def run_github_action(s, inputs, workdir):
    """Runs ci/github/action.yml's one step as the GitHub runner would: its env with
    ${{ inputs.X }} replaced by `inputs` (else the input's default), in `sh`, with the runner's
    GITHUB_* variables. Returns (process, outputs dict, step summary text)."""
    action = yaml.safe_load(open(os.path.join(REPO, "ci", "github", "action.yml")))
    step = action["runs"]["steps"][0]
    given = {k: inputs.get(k, v.get("default", "")) for k, v in action["inputs"].items()}
    expr = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
    env = {k: expr.sub(lambda m: given[m.group(1)], v) for k, v in step["env"].items()}
    outputs, summary_file = os.path.join(workdir, "output"), os.path.join(workdir, "summary")
    env.update(PATH=os.environ["PATH"], GITHUB_ACTION_PATH=os.path.join(REPO, "ci", "github"),
               GITHUB_OUTPUT=outputs, GITHUB_STEP_SUMMARY=summary_file, GITHUB_SHA="c0ffee42",
               GITHUB_REPOSITORY="acme/app", GITHUB_RUN_ID="77")
    r = subprocess.run([step["shell"], "-c", step["run"]], env=env, cwd=workdir,
                       capture_output=True, text=True, timeout=400)
    found = dict(line.split("=", 1) for line in open(outputs).read().splitlines()) \
        if os.path.exists(outputs) else {}
    summary_text = open(summary_file).read() if os.path.exists(summary_file) else ""
    return r, found, summary_text, action


def check_github_action(s):
    """The GitHub Action's step against this daemon: outputs, summary, labels, failure."""
    daemon, busybox = s.daemon, s.busybox
    workdir = os.path.join(s.work, "gha")
    os.makedirs(workdir)
    r, out, summary_text, action = run_github_action(s, {
        "server": daemon.base, "token": BUILD, "image": busybox["image"], "labels": "case=gha",
        "binary": s.binary}, workdir)
    status, page, _ = daemon.request("GET", "/v1/builds?label=commit%3Dc0ffee42", token=READ)
    build = page["builds"][0] if status == 200 and len(page["builds"]) == 1 else {}
    labelled = all([x["id"] for x in daemon.request(
        "GET", "/v1/builds?label=" + urllib.request.quote(label), token=READ)[1]["builds"]] ==
        [build.get("id")] for label in ("repository=acme/app", "run=77", "case=gha"))
    check("the GitHub Action's step builds; its build is found by commit, repository, run and inputs",
          r.returncode == 0 and build.get("state") == "succeeded" and labelled,
          (r.returncode, r.stderr[-500:], build))
    check("its outputs give the EIF, pcrs.json and the PCRs the API lists",
          all(out.get(k.lower()) == v for k, v in build.get("pcrs", {}).items()) and
          sha256_file(os.path.join(workdir, out.get("eif", "-"))) ==
          {a["name"]: a["sha256"] for a in build["artifacts"]}["image.eif"] and
          set(action["outputs"]) - {"pcr8"} <= set(out), (out, build.get("pcrs")))
    check("its step summary shows the PCRs, and no output or log shows the token",
          "| PCR0 | `%s` |" % build.get("pcrs", {}).get("PCR0") in summary_text and
          BUILD not in r.stdout + r.stderr + summary_text, summary_text)
    r, _, _, _ = run_github_action(s, {"server": daemon.base, "token": BUILD, "platform": "linux/s390x",
                                       "image": busybox["image"], "binary": s.binary},
                                   os.path.join(s.work, "gha"))
    check("the GitHub Action's step fails (exit 1) when the build fails", r.returncode == 1,
          (r.returncode, r.stderr[-500:]))


def check_gitlab_template(s):
    """The GitLab template's job script against this daemon, in the template's variables:
    the dotenv report and the artifact paths it declares."""
    daemon, busybox = s.daemon, s.busybox
    job = yaml.safe_load(open(os.path.join(REPO, "ci", "gitlab", "oci2eif.gitlab-ci.yml")))[".oci2eif-build"]
    workdir, bindir = os.path.join(s.work, "gitlab"), os.path.join(s.work, "gitlab-bin")
    os.makedirs(workdir)
    os.makedirs(bindir)
    os.symlink(os.path.join(REPO, "ci", "submit.sh"), os.path.join(bindir, "oci2eif-ci-submit"))
    os.symlink(s.binary, os.path.join(bindir, "oci2eif"))  # as in the ci image: both on PATH
    env = dict(job["variables"], PATH=bindir + ":" + os.environ["PATH"], OCI2EIF_SERVER=daemon.base,
               OCI2EIF_TOKEN=BUILD, OCI2EIF_IMAGE=busybox["image"], OCI2EIF_LABELS="case=gitlab",
               CI_COMMIT_SHA="d00d", CI_PROJECT_PATH="acme/app", CI_PIPELINE_ID="9")
    r = subprocess.run(["sh", "-ec", "\n".join(job["script"])], env=env, cwd=workdir,
                       capture_output=True, text=True, timeout=400)
    status, page, _ = daemon.request("GET", "/v1/builds?label=commit%3Dd00d", token=READ)
    build = page["builds"][0] if status == 200 and len(page["builds"]) == 1 else {}
    dotenv_path = os.path.join(workdir, job["artifacts"]["reports"]["dotenv"])
    dotenv = open(dotenv_path).read() if os.path.exists(dotenv_path) else ""
    check("the GitLab template's job builds; its dotenv report carries the PCRs",
          r.returncode == 0 and build.get("state") == "succeeded" and
          all("%s=%s\n" % kv in dotenv for kv in build["pcrs"].items()),
          (r.returncode, r.stderr[-500:], dotenv))
    check("the artifact paths the template declares exist",
          all(os.path.exists(os.path.join(workdir, p)) for p in job["artifacts"]["paths"]),
          job["artifacts"]["paths"])


def check_idempotency_key(s):
    """One Idempotency-Key, one build."""
    daemon, busybox = s.daemon, s.busybox
    key = {"Idempotency-Key": "e2e-once"}
    once = dict(busybox, env=["CASE=idempotency"])
    s1, b1, _ = daemon.request("POST", "/v1/builds", once, headers=key)
    s2, b2, _ = daemon.request("POST", "/v1/builds", once, headers=key)
    check("the same POST twice with one Idempotency-Key gives one build",
          s1 == 202 and s2 == 200 and b1["id"] == b2["id"], (s1, s2))
    daemon.wait(b1["id"], ("succeeded", "failed"))
    return b1


def check_concurrent_clients(s):
    """20 concurrent clients, 2 builds each, polled to the end."""
    daemon, busybox = s.daemon, s.busybox
    errors, ids, finals = [], [], []
    lock = threading.Lock()

    def client(n):
        try:
            mine = []
            for k in range(2):
                st, bb, _ = daemon.request("POST", "/v1/builds",
                                           dict(busybox, labels={"case": "load", "client": "c%d-%d" % (n, k)},
                                                env=["CLIENT=c%d-%d" % (n, k)]))
                if st != 202:
                    raise RuntimeError("POST %d %s" % (st, bb))
                mine.append(bb["id"])
            for i in mine:
                deadline = time.time() + 600
                while time.time() < deadline:
                    st, bb, _ = daemon.request("GET", "/v1/builds/" + i, token=READ)
                    if st != 200:
                        raise RuntimeError("GET %d %s" % (st, bb))
                    if bb["state"] in ("succeeded", "failed", "cancelled"):
                        break
                    time.sleep(0.25)
                with lock:
                    finals.append(bb["state"])
            with lock:
                ids.extend(mine)
        except Exception as e:  # noqa: BLE001 - reported by the check below
            with lock:
                errors.append("client %d: %r" % (n, e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    check("20 concurrent clients: no HTTP error", not errors and not any(t.is_alive() for t in threads), errors[:3])
    check("all 40 builds succeeded", len(finals) == 40 and set(finals) == {"succeeded"}, finals)
    check("no duplicate ids", len(ids) == 40 and len(set(ids)) == 40, len(set(ids)))
    status, page, _ = daemon.request("GET", "/v1/builds?label=case%3Dload&limit=1000", token=READ)
    check("rows = submissions (40)", status == 200 and len(page["builds"]) == 40 and
          {x["id"] for x in page["builds"]} == set(ids), len(page.get("builds", [])))



def check_delete(s, b1):
    """DELETE of a finished build takes its artifacts; read tokens cannot delete."""
    work, daemon = s.work, s.daemon
    status, _, _ = daemon.request("DELETE", "/v1/builds/" + b1["id"], raw=True)
    check("DELETE of a finished build → 204", status == 204, status)
    status, p, _ = daemon.request("GET", "/v1/builds/%s/artifacts/image.eif" % b1["id"], token=READ)
    check("its artifacts are gone (404)", status == 404 and p["code"] == "not_found", (status, p))
    status, p, _ = daemon.request("GET", "/v1/builds/" + b1["id"], token=READ)
    check("and the build itself (404)", status == 404, (status, p))
    check("and its files", not os.path.exists(os.path.join(work, "data", "artifacts", b1["id"])))
    status, p, _ = daemon.request("DELETE", "/v1/builds/" + b1["id"])
    check("DELETE again → 404", status == 404, (status, p))
    status, p, _ = daemon.request("DELETE", "/v1/builds/" + b1["id"], token=READ)
    check("a read token cannot DELETE (403)", status == 403, (status, p))



def check_kernel_catalog(s):
    """The kernel catalog: listing, upload, a build with the upload, deletion."""
    daemon, busybox, work, kernel_dir = s.daemon, s.busybox, s.work, s.kernel_dir
    status, ks, _ = daemon.request("GET", "/v1/kernels", token=READ)
    byname = {k["name"]: k for k in ks["kernels"]} if status == 200 else {}
    cloud = byname.get("cloud", {})
    check("GET /v1/kernels: cloud is the default, with its files' digests and cmdline",
          cloud.get("default") is True and cloud.get("arch") == "x86_64" and
          cloud["digests"]["bzImage"] == sha256_file(os.path.join(kernel_dir, "bzImage")) and
          cloud["digests"]["bzImage.config"] == sha256_file(os.path.join(kernel_dir, "bzImage.config"))
          and "console=ttyS0" in cloud["cmdline"], ks)
    check("a nitro-cli blobs directory is offered as nitro-cli (not default)",
          byname.get("nitro-cli", {}).get("default") is False, ks)
    status, k, _ = daemon.request("GET", "/v1/kernels/cloud", token=READ)
    check("GET /v1/kernels/cloud", status == 200 and k == cloud, (status, k))
    with open(os.path.join(kernel_dir, "bzImage"), "rb") as f:
        bz = f.read()
    body, ctype = multipart({"name": "up1", "cmdline": "console=ttyS0 reboot=k", "kernel": bz})
    # (A small body: the token is checked before a large body is read, and the server then
    # closes the connection, which a client still sending sees as a broken pipe.)
    small, small_type = multipart({"name": "up1", "kernel": b"x"})
    status, p, _ = daemon.request("POST", "/v1/kernels", small, headers={"Content-Type": small_type})
    check("a build token cannot upload a kernel (403)", status == 403, (status, p))
    status, k, _ = daemon.request("POST", "/v1/kernels", body, token=ADMIN, headers={"Content-Type": ctype})
    check("an admin uploads kernel up1 (201)", status == 201 and k["name"] == "up1" and
          k["digests"]["bzImage"] == cloud["digests"]["bzImage"] and
          k["cmdline"] == "console=ttyS0 reboot=k" and k["default"] is False, (status, k))
    check("it is stored under data/kernels/up1/",
          os.path.isfile(os.path.join(work, "data", "kernels", "up1", "bzImage")))
    status, p, _ = daemon.request("POST", "/v1/kernels", body, token=ADMIN, headers={"Content-Type": ctype})
    check("uploading up1 again → 409", status == 409 and p["code"] == "already_exists", (status, p))
    status, kb, _ = daemon.request("POST", "/v1/builds", dict(busybox, kernel="up1"))
    done = daemon.wait(kb["id"], ("succeeded", "failed")) if status == 202 else None
    check("a build with the uploaded kernel succeeds", done and done["state"] == "succeeded", (status, done))
    status, p, _ = daemon.request("DELETE", "/v1/kernels/cloud", token=ADMIN)
    check("deleting the default kernel → 409", status == 409 and p["code"] == "default_kernel", (status, p))
    status, _, _ = daemon.request("DELETE", "/v1/kernels/up1", token=ADMIN, raw=True)
    check("DELETE /v1/kernels/up1 → 204", status == 204, status)
    status, p, _ = daemon.request("GET", "/v1/kernels/up1", token=READ)
    check("then it is 404, and its directory is gone",
          status == 404 and not os.path.exists(os.path.join(work, "data", "kernels", "up1")), (status, p))



def check_second_daemon_refused(daemon):
    """A second daemon on a data directory in use exits 2 at once (it does not wait for the
    lock): what the Kubernetes single-node manifest's Recreate strategy relies on."""
    cmd = list(daemon.cmd)
    cmd[cmd.index("--listen") + 1] = "127.0.0.1:%d" % free_port()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=daemon.env)
    check("a second serve on the same data directory exits 2 naming it",
          r.returncode == 2 and "another oci2eif serve is using the data directory" in r.stderr,
          (r.returncode, r.stderr[-300:]))


def check_ready_needs_a_kernel(binary, work, kernel_dir):
    """A daemon with no kernel at all is not ready (every POST would fail) until one is
    uploaded."""
    bare = os.path.join(work, "bare")
    os.makedirs(os.path.join(bare, "no-blobs"))
    daemon = Daemon(binary, bare, kernel_dir, free_port())
    i = daemon.cmd.index("--kernel-dir")
    del daemon.cmd[i:i + 2]
    daemon.cmd[daemon.cmd.index("--token-file") + 1] = os.path.join(work, "tokens")
    daemon.env = dict(os.environ, OCI2EIF_NITRO_CLI_BLOBS=os.path.join(bare, "no-blobs"))
    try:
        daemon.start()
        status, p, _ = daemon.request("GET", "/readyz", token=None)
        check("with no kernel configured /readyz is 503 no_kernel, saying what to do",
              status == 503 and p["code"] == "no_kernel" and "--kernel-dir" in p["detail"], (status, p))
        with open(os.path.join(kernel_dir, "bzImage"), "rb") as f:
            body, ctype = multipart({"name": "k1", "kernel": f.read()})
        status, k, _ = daemon.request("POST", "/v1/kernels", body, token=ADMIN,
                                      headers={"Content-Type": ctype})
        status2, p, _ = daemon.request("GET", "/readyz", token=None)
        check("once a kernel is uploaded /readyz is 200", status == 201 and status2 == 200,
              (status, k, status2, p))
    finally:
        daemon.stop()


def check_auth_and_validation(s):
    """Tokens and roles; every invalid request is a 400 naming its field."""
    daemon, busybox, work, images = s.daemon, s.busybox, s.work, s.images
    # A link inside the allowed directory to a readable image outside it.
    outside = tempfile.mkdtemp(prefix="oci2eif-outside-")
    shutil.copytree(os.path.join(images, "busybox"), os.path.join(outside, "busybox"))
    escape = os.path.join(work, "escape")
    os.symlink(outside, escape)
    status, p, h = daemon.request("POST", "/v1/builds", busybox, token=None)
    check("no token → 401 problem+json", status == 401 and p["code"] == "unauthorized" and
          h.get("Content-Type") == "application/problem+json", (status, p))
    status, p, _ = daemon.request("POST", "/v1/builds", busybox, token=READ)
    check("a read token cannot POST (403)", status == 403 and p["code"] == "forbidden", (status, p))
    status, p, _ = daemon.request("GET", "/v1/builds", token="wrong-token-0123456789abcdef")
    check("an unknown token → 401", status == 401, (status, p))
    cases = [
        (b"{not json", "not valid JSON"),
        ({"image": busybox["image"], "imgae": "x"}, "field 'imgae': unknown field"),
        ({"image": "Busybox:latest"}, "repository component 'Busybox' must be lower-case"),
        ({"image": busybox["image"], "kernel": "nope"}, "field 'kernel': 'nope' is not a configured kernel"),
        ({"image": busybox["image"], "env": ["NOEQUALS"]}, "field 'env[0]': 'NOEQUALS' is not KEY=VALUE"),
        ({}, "field 'image': required"),
        ({"image": busybox["image"], "signing_key": "nope"},
         "field 'signing_key': 'nope' is not a configured signing key (configured: vec)"),
        ({"image": busybox["image"], "metadata": {"ImagePlatform": "x"}},
         "custom metadata key 'ImagePlatform' is reserved"),
        ({"image": "oci-layout:/etc:latest"}, "not below a directory this server builds local images from"),
        ({"image": "oci-layout:images/busybox:latest"}, "a local image path must be absolute"),
        ({"image": "oci-layout:%s/busybox:latest" % escape}, "not below a directory this server"),
    ]
    for body, detail in cases:
        status, p, _ = daemon.request("POST", "/v1/builds", body)
        check("400 with detail '%s'" % detail,
              status == 400 and isinstance(p, dict) and detail in p.get("detail", ""), (status, p))
    shutil.rmtree(outside)
    status, p, _ = daemon.request("POST", "/v1/builds", b"x" * (200 * 1024))
    check("an oversized body → 413", status == 413, status)
    status, p, _ = daemon.request("GET", "/v1/builds/b-0123", token=READ)
    check("an unknown build → 404 problem", status == 404 and p["code"] == "not_found", (status, p))


def refusal_text(daemon, image):
    """The 400's detail, or the build's error once it ends: whichever stage refused `image`."""
    status, p, _ = daemon.request("POST", "/v1/builds", {"image": image, "labels": {"case": "sealed"}})
    if status == 400:
        return p.get("detail", "")
    if status not in (200, 201, 202):
        return "unexpected status %s" % status
    done = daemon.wait(p["id"], ("succeeded", "failed"), timeout=60) or {}
    return json.dumps(done.get("error")) if done.get("state") == "failed" else "built: %s" % done.get("state")


def check_sealed_local_images(s):
    """Every file of a local image is opened beneath the allowed directory: links out fail."""
    daemon, work, images = s.daemon, s.work, s.images
    outside = tempfile.mkdtemp(prefix="oci2eif-sealed-")
    secret = b"SECRET-" + b"s" * 57
    with open(os.path.join(outside, "tokens.txt"), "wb") as f:
        f.write(secret)
    leaks = [secret.decode()[:12], hashlib.sha256(secret).hexdigest(), "%d bytes" % len(secret)]
    shutil.copytree(os.path.join(images, "busybox"), os.path.join(outside, "busybox"))
    blobs_out = os.path.join(work, "sealed-blobs")
    shutil.copytree(os.path.join(images, "busybox"), blobs_out)
    shutil.rmtree(os.path.join(blobs_out, "blobs"))
    os.symlink(os.path.join(outside, "busybox", "blobs"), os.path.join(blobs_out, "blobs"))
    index_out = os.path.join(work, "sealed-index")
    shutil.copytree(os.path.join(images, "busybox"), index_out)
    os.remove(os.path.join(index_out, "index.json"))
    os.symlink(os.path.join(outside, "tokens.txt"), os.path.join(index_out, "index.json"))
    for name, image in [("blobs/ linked out", "oci-layout:%s:latest" % blobs_out),
                        ("index.json linked to a file out", "oci-layout:%s" % index_out)]:
        text = refusal_text(daemon, image)
        check("a layout whose %s is refused: leads outside" % name, "leads outside" in text, text)
        check("... and the error echoes nothing of the file outside",
              not any(leak in text for leak in leaks), text)
    proc = "oci-layout:/proc/self/root%s/busybox:latest" % images
    text = refusal_text(daemon, proc)
    check("a /proc/self/root detour to an allowed image is refused", "not below a directory" in text, text)
    alias = os.path.join(work, "alias")
    os.symlink(os.path.relpath(os.path.join(images, "busybox"), work), alias)
    text = refusal_text(daemon, "oci-layout:%s:latest" % alias)
    check("a relative link inside the allowed directory still builds", text == "built: succeeded", text)
    shutil.rmtree(outside)


def check_kill9_restart(s, big):
    """kill -9 during a running build, restart: it completes, one row."""
    daemon = s.daemon
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": "oci-layout:%s:latest" % big})
    running = daemon.wait(b["id"], ("running", "succeeded", "failed"), timeout=60)
    was_running = running is not None and running["state"] == "running"
    status, p, _ = daemon.request("DELETE", "/v1/builds/" + b["id"])
    check("DELETE of a running build → 409 not_finished",
          status == 409 and p["code"] == "not_finished", (status, p))
    daemon.kill9()
    check("the large build was running when the daemon was killed", was_running, running)
    data = os.path.join(os.path.dirname(daemon.db))
    check("the killed build left its scratch directory",
          os.path.isdir(os.path.join(data, "scratch", b["id"])))
    half_written = os.path.join(data, "artifacts", b["id"], ".image.eif.tmp-Kx3pQ9")
    os.makedirs(os.path.dirname(half_written), exist_ok=True)
    with open(half_written, "wb") as f:
        f.write(b"half an EIF")
    orphan = os.path.join(data, "artifacts", "b-" + "e" * 32)
    os.makedirs(orphan)
    with open(os.path.join(orphan, "pcr.json"), "w") as f:
        f.write("{}")
    log_before = os.path.getsize(daemon.log)
    daemon.start()
    with open(daemon.log) as f:
        f.seek(log_before)
        restart_log = f.read()
    check("the restart removed the half-written artifact and said what it swept",
          not os.path.exists(half_written) and "removed what an earlier stop left in" in restart_log,
          restart_log[:2000])
    check("an artifact directory of no known build is reported by id and kept",
          os.path.exists(os.path.join(orphan, "pcr.json")) and
          "belong to no build in the database: 1 (the first: b-%s)" % ("e" * 32) in restart_log,
          restart_log[:2000])
    shutil.rmtree(orphan)
    # Follow its log while the re-run goes on: the stream ends when the build does.
    status, streamed, h = daemon.request("GET", "/v1/builds/%s/log?follow=1&timeout=600" % b["id"],
                                         token=READ, raw=True)
    _, now, _ = daemon.request("GET", "/v1/builds/" + b["id"], token=READ)
    check("log?follow=1 of the running large build streams to its end",
          status == 200 and h.get("Transfer-Encoding") == "chunked" and
          now["state"] in ("succeeded", "failed") and b"attempt 2" in streamed and
          b"artifacts published" in streamed, (status, now["state"], streamed[-300:]))
    done = daemon.wait(b["id"], ("succeeded", "failed"), timeout=600)
    check("after restart the interrupted build completes",
          done is not None and done["state"] == "succeeded" and done["attempts"] >= 2, done)
    status, page, _ = daemon.request("GET", "/v1/builds?image=" +
                                     urllib.request.quote("oci-layout:%s:latest" % big), token=READ)
    check("and it is still one build row", status == 200 and len(page["builds"]) == 1, page)


def check_sigterm_drain(s, big):
    """SIGTERM during a running build: drain (503 for POSTs), exit 0, finished or re-queued."""
    daemon, busybox = s.daemon, s.busybox
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": "oci-layout:%s:latest" % big,
                                                        "env": ["RUN=sigterm"],
                                                        "labels": {"case": "sigterm"}})
    running = daemon.wait(b["id"], ("running", "succeeded", "failed"), timeout=60)
    check("the large build was running at SIGTERM", running and running["state"] == "running", running)
    os.kill(daemon.proc.pid, signal.SIGTERM)
    drain_post = None
    deadline = time.time() + 10
    while time.time() < deadline and drain_post is None:
        try:
            if daemon.request("GET", "/readyz", token=None)[0] == 503:
                drain_post = daemon.request("POST", "/v1/builds", busybox)
        except OSError:
            break
        time.sleep(0.02)
    check("while draining, /readyz and POST /v1/builds answer 503 shutting_down",
          drain_post is not None and drain_post[0] == 503 and drain_post[1]["code"] == "shutting_down"
          and drain_post[2].get("Content-Type") == "application/problem+json", drain_post)
    rc = daemon.proc.wait(timeout=60)
    check("after SIGTERM the daemon exits 0", rc == 0, rc)
    with sqlite3.connect(daemon.db) as db:
        rows = db.execute("SELECT state, worker_id FROM builds WHERE id = ?", (b["id"],)).fetchall()
    check("the build is finished or released to the queue, not left running",
          len(rows) == 1 and (rows[0][0] == "succeeded" or rows[0] == ("queued", None)), rows)
    daemon.start()
    done = daemon.wait(b["id"], ("succeeded", "failed"), timeout=600)
    check("after restart the build is succeeded", done is not None and done["state"] == "succeeded", done)
    status, page, _ = daemon.request("GET", "/v1/builds?label=case%3Dsigterm", token=READ)
    check("and it is one build row", status == 200 and len(page["builds"]) == 1, page)
    if rows and rows[0][0] == "queued":  # the usual case: the grace period is 1 s
        check("the serve log says the shutdown re-queued it, and the restart claimed it at once",
              "stopped by the shutdown; re-queued" in open(daemon.log).read() and
              done and done["attempts"] == 2, done and done["attempts"])


def many_files_layout(work, count):
    """An OCI layout of `count` empty files in one uncompressed layer (ustar headers, no PAX)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))
    import imagelib
    out = bytearray()
    for i in range(count):
        ti = tarfile.TarInfo("srv/d%03d/f%07d" % (i // 1000, i))
        ti.mtime = 0
        out += ti.tobuf(tarfile.USTAR_FORMAT)
    out += b"\0" * 1024
    lay = imagelib.Layout()
    b = imagelib.build_image(lay, [(bytes(out), "tar")], {"Cmd": ["/bin/true"]})
    lay.tag({k: v for k, v in b.desc.items() if k != "platform"})
    path = os.path.join(work, "files-%d" % count)
    lay.write(path)
    return path


def status_kib(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def runs_under_asan(pid):
    """ASan's allocator replaces malloc and keeps freed memory in quarantine: malloc_trim does
    nothing there, so memory going back is a property of the normal build only."""
    return any("libasan" in line for line in open("/proc/%d/maps" % pid))


def check_memory_returned(s):
    """A build of 200,000 files grows the daemon by ~100 MiB; that memory goes back afterwards."""
    daemon = s.daemon
    if runs_under_asan(daemon.proc.pid):
        print("skip - memory given back: the daemon runs under AddressSanitizer")
        return
    layout = many_files_layout(s.work, 200_000)
    before = status_kib(daemon.proc.pid, "VmRSS")
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": "oci-layout:%s:latest" % layout})
    most, state = before, None
    for _ in range(6000):  # 5 minutes at most, sampling RSS every 50 ms
        most = max(most, status_kib(daemon.proc.pid, "VmRSS"))
        if status != 202:
            break
        state = daemon.request("GET", "/v1/builds/" + b["id"], token=READ)[1]["state"]
        if state not in ("queued", "running"):
            break
        time.sleep(0.05)
    after = status_kib(daemon.proc.pid, "VmRSS")
    check("a build of 200,000 files succeeds and grows the daemon by over 40 MiB while it runs",
          state == "succeeded" and most - before > 40 << 10, (status, state, before, most))
    check("once it ended, the daemon gave at least half of that growth back",
          after - before < (most - before) / 2, (before, most, after))


def check_image_limits(s):
    """A daemon started with a small max_image_entries fails a larger image, one with a small
    max_eif_mb an EIF that outgrows it: limit_exceeded, naming the limit."""
    daemon = s.daemon
    daemon.stop()
    daemon.cmd += ["--max-image-entries", "3", "--max-eif-mb", "1"]
    daemon.start()
    one_file = many_files_layout(s.work, 1)
    status, b, _ = daemon.request("POST", "/v1/builds", {"image": "oci-layout:%s:latest" % one_file,
                                                         "env": ["LIMIT=EIF"]})
    done = daemon.wait(b["id"], ("succeeded", "failed"), timeout=120) if status == 202 else None
    check("with --max-eif-mb 1, a one-file image fails with limit_exceeded: the kernel alone is larger",
          done is not None and done["state"] == "failed" and
          done.get("error", {}).get("code") == "limit_exceeded" and
          "the EIF would be larger than its limit of 1048576 bytes" in done.get("error", {}).get("message", ""),
          (status, done))
    status, b, _ = daemon.request("POST", "/v1/builds", dict(s.busybox, env=["LIMIT=3"]))
    done = daemon.wait(b["id"], ("succeeded", "failed"), timeout=120) if status == 202 else None
    check("with --max-image-entries 3, busybox fails with limit_exceeded naming the limit",
          done is not None and done["state"] == "failed" and
          done.get("error", {}).get("code") == "limit_exceeded" and
          "more than 3 entries in the image" in done.get("error", {}).get("message", ""), (status, done))


def main():
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="serve-e2e-")
    daemon = None
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        write_tokens(work)
        blobs = os.path.join(work, "nitro-blobs")
        shutil.copytree(kernel_dir, blobs)
        os.environ["OCI2EIF_NITRO_CLI_BLOBS"] = blobs
        check_bad_configs_refused(binary, work, kernel_dir)
        daemon = Daemon(binary, work, kernel_dir, free_port())
        daemon.cmd += ["--config", write_signing_config(work)]
        daemon.start()
        check_listen_backlog(daemon)
        check_ready_needs_a_kernel(binary, work, kernel_dir)
        check_second_daemon_refused(daemon)
        s = Suite(binary, work, daemon, images, kernel_dir)
        b, done = check_build_and_artifacts(s)
        check_equal_requests(s, b)
        unsigned = done["pcrs"] if done and done["state"] == "succeeded" else {}
        check_signed_build(binary, work, daemon, dict(s.busybox, labels={"case": "signed"}), unsigned)
        check_log_follow(s, b)
        check_submit_wait(s)
        check_github_action(s)
        check_gitlab_template(s)
        b1 = check_idempotency_key(s)
        check_concurrent_clients(s)
        check_delete(s, b1)
        check_kernel_catalog(s)
        check_auth_and_validation(s)
        check_sealed_local_images(s)
        check_silent_registries_do_not_hold_post(daemon)
        big = os.path.join(work, "big")
        make_big_image(big, 256 << 20)
        check_kill9_restart(s, big)
        check_sigterm_drain(s, big)
        check_memory_returned(s)
        check_image_limits(s)
    finally:
        if daemon:
            daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
