#!/usr/bin/env python3
"""End-to-end checks of registry webhooks, /metrics and /v1/openapi.json against a real
`oci2eif serve` and a real docker-registry (plain HTTP on 127.0.0.1) whose notifications
endpoint is the service's distribution webhook, with its bearer secret:

  - `skopeo copy` of the busybox test image makes the service build it (no other call) and the
    build succeeds with the pushed digest
  - the rule's `push` ("{registry}/{repository}:eif-{tag}", allowed by push_targets) stores the
    EIF back in that registry, its subject the pushed image: skopeo reads it; the registry's own
    notifications of that push (the EIF's tag, the referrers fallback tag) queue no build
  - a GitHub delivery with a wrong X-Hub-Signature-256 → 401 problem+json; nothing queued
  - a Docker Hub payload (a tag, no digest) → a build that resolves the digest and succeeds
  - the same Docker Hub delivery again → duplicate, nothing queued
  - /metrics: Prometheus text with HELP/TYPE, builds by state, the duration histogram and
    webhook deliveries by source and outcome; /v1/openapi.json is served

usage: webhook_e2e.py OCI2EIF_BINARY   (python3, docker-registry, skopeo, the Debian cloud kernel)
Last line: "N passed, M failed".
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_e2e  # noqa: E402  (Daemon, check, tokens)
from serve_e2e import BUILD, READ  # noqa: E402
from ports import free_port  # noqa: E402
from checks import check, summary  # noqa: E402
from fixtures import (make_kernel_bundle, make_test_images, require_tools, start_process,  # noqa: E402
                      remove_work, stop_process, wait_http)

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
DIST_SECRET = "dist-secret-0123456789abcdef"
HUB_SECRET = "hub-secret-0123456789abcdef"
GITHUB_SECRET = "github-secret-0123456789abcdef"


def builds_with(daemon, label):
    status, page, _ = daemon.request("GET", "/v1/builds?label=" + urllib.parse.quote(label), token=READ)
    return page["builds"] if status == 200 else []


def wait_for_build(daemon, label, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        builds = builds_with(daemon, label)
        if builds:
            return daemon.wait(builds[0]["id"], ("succeeded", "failed", "cancelled"), timeout=300)
        time.sleep(0.2)
    return None


def check_pushed_eif(daemon, done, reg, image_digest):
    """The webhook build's push.json against what skopeo reads from the registry."""
    if done is None or done["state"] != "succeeded":
        return
    status, body, _ = daemon.request("GET", "/v1/builds/%s/artifacts/push.json" % done["id"],
                                     token=READ)
    check("the webhook build published push.json", status == 200, (status, body))
    if status != 200:
        return
    r = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                        "docker://%s/test/busybox:eif-v1" % reg], capture_output=True, text=True,
                       timeout=120)
    manifest = json.loads(r.stdout) if r.returncode == 0 else {}
    check("the rule's push put the EIF at {registry}/{repository}:eif-{tag} (skopeo)",
          r.returncode == 0 and
          "sha256:" + hashlib.sha256(r.stdout.encode()).hexdigest() == body["digest"] and
          manifest.get("artifactType") == "application/vnd.oci2eif.eif.v1", (body, r.stderr))
    check("its subject is the pushed image", body["subject"] == image_digest and
          manifest.get("subject", {}).get("digest") == image_digest, (body, manifest))


def main():
    binary = os.path.abspath(sys.argv[1])
    require_tools("webhook_e2e", ("docker-registry", "skopeo", "curl"))
    work = tempfile.mkdtemp(prefix="webhook-e2e-")
    daemon, registry = None, None
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        serve_e2e.write_tokens(work)

        reg_port, api_port = free_port(), free_port()
        reg = "127.0.0.1:%d" % reg_port
        with open(os.path.join(work, "serve.json"), "w") as f:
            json.dump({"webhooks": {
                "secrets": {"distribution": DIST_SECRET, "dockerhub": HUB_SECRET,
                            "github": GITHUB_SECRET},
                "rules": [{"repository": "test/*", "tag": "v*", "registry": reg,
                           "build": {"labels": {"suite": "webhook"},
                                     "push": "{registry}/{repository}:eif-{tag}"}}]},
                       "push_targets": [reg + "/test/*"]}, f)
        daemon = serve_e2e.Daemon(binary, work, kernel_dir, api_port)
        daemon.cmd += ["--config", os.path.join(work, "serve.json")]
        daemon.start()

        # A registry that notifies the service of every push.
        with open(os.path.join(work, "registry.yml"), "w") as f:
            f.write("""version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: %s/storage}}
http: {addr: %s, secret: webhook-e2e}
notifications:
  endpoints:
    - name: oci2eif
      url: http://127.0.0.1:%d/v1/webhooks/distribution
      headers: {Authorization: [Bearer %s]}
      timeout: 2s
      threshold: 3
      backoff: 1s
""" % (work, reg, api_port, DIST_SECRET))
        registry = start_process(["docker-registry", "serve", os.path.join(work, "registry.yml")],
                                 os.path.join(work, "registry.log"))
        if not wait_http("http://%s/v2/" % reg):
            raise SystemExit("docker-registry did not start: " + open(os.path.join(work, "registry.log")).read())

        # 1. Push → the registry notifies → the service builds it.
        r = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--preserve-digests",
                            "oci:%s/busybox:latest" % images, "docker://%s/test/busybox:v1" % reg],
                           capture_output=True, text=True, timeout=120)
        check("skopeo pushes busybox to the notifying registry", r.returncode == 0, r.stderr)
        done = wait_for_build(daemon, "webhook.source=distribution")
        check("the push alone makes the service build it to succeeded",
              done is not None and done["state"] == "succeeded", done)
        pushed = done["image_digest"] if done else None
        check("the webhook build pulled the pushed digest by digest",
              done is not None and done["image"] == "%s/test/busybox@%s" % (reg, pushed) and
              done["labels"].get("suite") == "webhook", done)
        check_pushed_eif(daemon, done, reg, pushed)
        check("one build for the push (registry events deduped, blobs and the EIF's own push "
              "ignored)",
              len(builds_with(daemon, "webhook.source=distribution")) == 1,
              builds_with(daemon, "webhook.source=distribution"))

        # 2. GitHub with a wrong signature.
        body = json.dumps({"action": "published", "package": {
            "name": "busybox", "namespace": "test", "package_type": "container",
            "package_version": {"container_metadata": {"tag": {"name": "v1", "digest": pushed}}}}}).encode()
        status, p, h = daemon.request("POST", "/v1/webhooks/github", body, token=None,
                                      headers={"X-GitHub-Event": "package", "Content-Type": "application/json",
                                               "X-Hub-Signature-256": "sha256=" + "0" * 64})
        check("a GitHub delivery with a wrong signature → 401 bad_signature problem+json",
              status == 401 and p.get("code") == "bad_signature" and
              h.get("Content-Type") == "application/problem+json" and GITHUB_SECRET not in json.dumps(p),
              (status, p))
        check("and nothing was queued for it", builds_with(daemon, "webhook.source=github") == [])

        # 3. Docker Hub: a tag, no digest.
        hub = json.dumps({"push_data": {"pushed_at": 1700000000, "pusher": "ci", "tag": "v1"},
                          "repository": {"repo_name": "test/busybox", "name": "busybox",
                                         "namespace": "test"}}).encode()
        status, p, _ = daemon.request("POST", "/v1/webhooks/dockerhub", hub, token=HUB_SECRET,
                                      headers={"Content-Type": "application/json"})
        check("a Docker Hub payload → 202 with one build queued by tag",
              status == 202 and len(p["queued"]) == 1 and p["queued"][0]["image"] == reg + "/test/busybox:v1",
              (status, p))
        done = wait_for_build(daemon, "webhook.source=dockerhub")
        check("the Docker Hub build resolves the digest from the registry and succeeds",
              done is not None and done["state"] == "succeeded" and done["image_digest"] == pushed, done)
        status, p, _ = daemon.request("POST", "/v1/webhooks/dockerhub", hub, token=HUB_SECRET)
        check("the same Docker Hub delivery again is a duplicate (200, nothing queued)",
              status == 200 and p["queued"] == [] and p["duplicates"] == 1, (status, p))
        status, p, _ = daemon.request("POST", "/v1/webhooks/dockerhub", hub, token="wrong-secret-0123456789")
        check("a Docker Hub delivery with the wrong secret → 401", status == 401, (status, p))
        status, p, _ = daemon.request("POST", "/v1/webhooks/harbor", b"{}", token=None)
        check("an unconfigured source → 404 webhook_disabled",
              status == 404 and p.get("code") == "webhook_disabled", (status, p))

        # 4. /metrics and /v1/openapi.json.
        status, text, h = daemon.request("GET", "/metrics", token=None, raw=True)
        text = text.decode()
        check("/metrics is Prometheus text 0.0.4",
              status == 200 and "version=0.0.4" in h.get("Content-Type", ""), h.get("Content-Type"))
        for line in ['# TYPE oci2eif_builds gauge', 'oci2eif_builds{state="succeeded"} 2',
                     'oci2eif_builds{state="failed"} 0', '# TYPE oci2eif_queue_depth gauge',
                     '# TYPE oci2eif_build_duration_seconds histogram',
                     'oci2eif_build_duration_seconds_count{state="succeeded"} 2',
                     'oci2eif_build_duration_seconds_bucket{state="succeeded",le="+Inf"} 2',
                     '# TYPE oci2eif_webhook_deliveries_total counter',
                     'oci2eif_webhook_deliveries_total{outcome="unauthorized",source="github"} 1',
                     'oci2eif_webhook_deliveries_total{outcome="queued",source="dockerhub"} 1',
                     'oci2eif_webhook_deliveries_total{outcome="duplicate",source="dockerhub"} 1']:
            check("/metrics has %s" % line, line in text.splitlines(), text)
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                              text=True, timeout=60)
        check("promtool check metrics finds no problem in /metrics",
              lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(),
              lint.stdout + lint.stderr)
        # This script's own refused deliveries: one to an unconfigured source, two bad secrets.
        # The server counts a request once its answer is written, so the last one may not be
        # counted yet when its answer arrives here: scrape again (bounded) until it is.
        counted = ['oci2eif_http_requests_total{code="404",method="POST",route="/v1/webhooks/{source}"} 1',
                   'oci2eif_http_requests_total{code="401",method="POST",route="/v1/webhooks/{source}"} 2']
        for _ in range(50):
            if all(line in text.splitlines() for line in counted):
                break
            time.sleep(0.1)
            text = daemon.request("GET", "/metrics", token=None, raw=True)[1].decode()
        for line in counted:
            check("/metrics counts HTTP requests: %s" % line, line in text.splitlines(),
                  [x for x in text.splitlines() if x.startswith("oci2eif_http_requests_total")])
        check("/metrics has the build info and the process metrics",
              any(x.startswith("oci2eif_build_info{version=") for x in text.splitlines()) and
              all("\n%s " % m in text for m in ("process_resident_memory_bytes", "process_cpu_seconds_total",
                                                 "process_open_fds", "process_start_time_seconds")), text[-800:])
        status, doc, _ = daemon.request("GET", "/v1/openapi.json", token=None)
        check("/v1/openapi.json serves the contract",
              status == 200 and doc["openapi"].startswith("3.0") and "/v1/webhooks/{source}" in doc["paths"],
              status)
    finally:
        if daemon:
            daemon.stop()
        stop_process(registry)
        remove_work(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
