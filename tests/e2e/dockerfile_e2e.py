#!/usr/bin/env python3
"""The top-level Dockerfile, built and run with podman as users would (Debian's podman 4.3,
vfs storage, runc, its own storage root below the work directory):

  - the base, docker.io/library/debian:12-slim, is made here by debootstrap from Debian's
    mirror and `podman import`ed (nothing here reaches Docker Hub); the Dockerfile's compile
    stage is replaced by this build's `cmake --install` with `--build-context build=DIR` (as the
    Dockerfile documents), so the suite does not compile oci2eif a second time;
  - the image's metadata: user 10001, the data volume, port 8080, a HEALTHCHECK, the default
    config that requires tokens off loopback;
  - the service container (--network host, a reserved 127.0.0.1 port through OCI2EIF_LISTEN;
    the token file, nitro-cli-style kernel blobs and the test images mounted read-only): it runs
    as 10001, its health check passes, a build POSTed to it gives the PCRs `oci2eif build` gives
    on the host for the same image and kernel;
  - the `ci` target runs `oci2eif-ci-submit` (the GitHub Action's and GitLab template's step)
    against that service;
  - `podman stop` (SIGTERM) ends the service with exit status 0, not a kill.

usage: dockerfile_e2e.py OCI2EIF_BINARY BUILD_DIR   (root; podman, runc, debootstrap; run in
private mount namespaces). Exit status 77 (skipped) when podman cannot run containers here, or
when BUILD_DIR is a sanitizer build (its binary needs libasan, which the image does not have).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import podman_e2e  # noqa: E402  (Podman)
import serve_e2e  # noqa: E402  (Daemon.request, write_tokens, tokens)
from checks import check, summary  # noqa: E402
from fixtures import (make_kernel_bundle, make_test_images, remove_work, require_tools,  # noqa: E402
                      unmount_below)
from ports import free_port  # noqa: E402

SKIP = 77
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = "docker.io/library/debian:12-slim"
SERVICE, CI = "localhost/oci2eif:test", "localhost/oci2eif-ci:test"


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def make_base(podman, work):
    """debian:12-slim as the Dockerfile names it: a debootstrap minbase of bookworm."""
    for attempt in (1, 2):  # a mirror hiccup is retried once, from scratch
        rootfs = os.path.join(work, "debian-rootfs-%d" % attempt)
        r = run(["debootstrap", "--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian"],
                timeout=900)
        if r.returncode == 0:
            break
        unmount_below(rootfs)
    if r.returncode != 0:
        raise SystemExit("debootstrap failed: " + (r.stdout + r.stderr)[-800:])
    tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(podman.base + ["import", "-", BASE], stdin=tar.stdout,
                              capture_output=True, text=True, env=podman.env, timeout=600)
    tar.wait()
    if imported.returncode != 0:
        raise SystemExit("podman import failed: " + imported.stderr[-800:])


def build_images(podman, build_dir, work):
    """Both targets, with this build's install tree as the `build` stage."""
    prebuilt = os.path.join(work, "prebuilt")
    r = run(["cmake", "--install", build_dir, "--prefix", os.path.join(prebuilt, "opt", "oci2eif")])
    if r.returncode != 0:
        raise SystemExit("cmake --install failed: " + r.stderr[-800:])
    results = {}
    for target, tag in (("service", SERVICE), ("ci", CI)):
        # --format docker: the OCI image format has no HEALTHCHECK (podman drops it, warning).
        results[target] = podman("build", "--format", "docker", "--isolation", "chroot",
                                 "--network", "host",
                                 "--build-context", "build=" + prebuilt, "--target", target,
                                 "-t", tag, REPO, timeout=1200)
    for target, r in results.items():
        check("podman build --target %s of the Dockerfile succeeds" % target, r.returncode == 0,
              (r.stdout + r.stderr)[-1500:])
    return all(r.returncode == 0 for r in results.values())


def check_image_metadata(podman):
    r = podman("image", "inspect", SERVICE)
    config = json.loads(r.stdout)[0]["Config"] if r.returncode == 0 else {}
    check("the service image runs oci2eif serve as user 10001 with the data volume and port 8080",
          config.get("User") == "10001:10001" and "/var/lib/oci2eif" in config.get("Volumes", {})
          and "8080/tcp" in config.get("ExposedPorts", {})
          and config.get("Entrypoint") == ["/usr/local/bin/oci2eif"]
          and config.get("Cmd") == ["serve", "--config", "/etc/oci2eif/config.json"], config)
    image = json.loads(r.stdout)[0] if r.returncode == 0 else {}
    health = image.get("HealthCheck") or image.get("Healthcheck") or config.get("Healthcheck") or {}
    check("it declares a HEALTHCHECK probing /healthz", "/healthz" in " ".join(health.get("Test", [])),
          sorted(image))
    r = podman("run", "--rm", "--network", "host", "--entrypoint", "cat", SERVICE,
               "/etc/oci2eif/config.json")
    with open(os.path.join(REPO, "deploy", "container", "config.json")) as f:
        expected = json.load(f)
    check("its default config is deploy/container/config.json (all addresses, tokens required)",
          r.returncode == 0 and json.loads(r.stdout) == expected and
          expected["listen"].startswith("0.0.0.0:") and "token_file" in expected, r.stdout + r.stderr)


class Service:
    """The service container, reached on 127.0.0.1:PORT (host network)."""

    def __init__(self, podman, work, kernel_dir, images):
        self.podman, self.port = podman, free_port()
        serve_e2e.write_tokens(work)
        os.chmod(os.path.join(work, "tokens"), 0o644)  # user 10001 in the container reads it
        self.daemon = serve_e2e.Daemon("unused", work, kernel_dir, self.port)
        r = podman("run", "-d", "--name", "svc", "--network", "host",
                   "-e", "OCI2EIF_LISTEN=127.0.0.1:%d" % self.port,
                   "-v", "%s:/etc/oci2eif/tokens:ro" % os.path.join(work, "tokens"),
                   "-v", "%s:/usr/share/nitro_enclaves/blobs:ro" % kernel_dir,
                   "-v", "%s:/images:ro" % images,
                   SERVICE, "serve", "--config", "/etc/oci2eif/config.json", "--local-images", "/images")
        self.started = r.returncode == 0 and self.wait_healthy()
        check("the service container starts and answers /healthz", self.started,
              (r.stderr[-500:], self.logs()))

    def wait_healthy(self):
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port, timeout=2) as r:
                    if r.status == 200:
                        return True
            except OSError:
                time.sleep(0.2)
        return False

    def logs(self):
        return self.podman("logs", "svc").stdout[-1500:]


def host_pcrs(binary, images, kernel_dir, work):
    out = os.path.join(work, "host.eif")
    r = run([binary, "build", "--oci-layout", os.path.join(images, "busybox") + ":latest",
             "--kernel-dir", kernel_dir, "--output", out])
    return json.loads(r.stdout)["Measurements"] if r.returncode == 0 else {"error": r.stderr}


def check_service(svc, reference):
    r = svc.podman("exec", "svc", "id", "-u")
    check("the daemon in the container runs as user 10001", r.stdout.strip() == "10001", r.stdout + r.stderr)
    r = svc.podman("healthcheck", "run", "svc")
    check("the image's health check passes on the running service", r.returncode == 0,
          (r.returncode, r.stdout, r.stderr))
    status, b, _ = svc.daemon.request("POST", "/v1/builds", {"image": "oci-layout:/images/busybox:latest"})
    done = svc.daemon.wait(b["id"], ("succeeded", "failed")) if status == 202 else None
    check("a build POSTed to the container gives the host build's PCRs",
          done and done["state"] == "succeeded" and
          all(reference.get(k) == v for k, v in done["pcrs"].items()) and len(done["pcrs"]) >= 3,
          (status, done, reference, svc.logs()))


def check_ci_image(podman, svc, reference, work):
    out = os.path.join(work, "ci-out")
    os.makedirs(out)
    r = podman("run", "--rm", "--network", "host",
               "-e", "OCI2EIF_SERVER=http://127.0.0.1:%d" % svc.port, "-e", "OCI2EIF_TOKEN=" + serve_e2e.BUILD,
               "-e", "OCI2EIF_IMAGE=oci-layout:/images/busybox:latest", "-e", "OCI2EIF_OUTPUT_DIR=/out",
               "-v", out + ":/out", CI, "oci2eif-ci-submit")
    pcrs = {}
    if os.path.exists(os.path.join(out, "pcrs.json")):
        with open(os.path.join(out, "pcrs.json")) as f:
            pcrs = json.load(f)["Measurements"]
    check("the ci image's oci2eif-ci-submit builds through the service and gets the same PCRs",
          r.returncode == 0 and pcrs.get("PCR0") == reference.get("PCR0") and
          os.path.exists(os.path.join(out, "image.eif")), (r.returncode, r.stderr[-800:]))


def check_sigterm(podman):
    r = podman("stop", "-t", "30", "svc", timeout=120)
    state = podman("inspect", "svc", "--format", "{{.State.ExitCode}}").stdout.strip()
    check("podman stop (SIGTERM) ends the service cleanly: exit status 0", r.returncode == 0 and state == "0",
          (r.returncode, state, podman("logs", "svc").stdout[-800:]))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, build_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if "libasan" in run(["ldd", binary]).stdout:
        print("SKIPPED: a sanitizer build; the image holds a normal build's binary")
        return SKIP
    require_tools("dockerfile_e2e.py", ["podman", "runc", "debootstrap", "busybox"])
    work = tempfile.mkdtemp(prefix="oci2eif-dockerfile-")
    os.chmod(work, 0o755)
    podman = None
    try:
        podman = podman_e2e.Podman(os.path.join(work, "podman"))
        why = podman.cannot_run()
        if why:
            print("SKIPPED: " + why)
            return SKIP
        make_base(podman, work)
        if build_images(podman, build_dir, work):
            check_image_metadata(podman)
            images = make_test_images(os.path.join(work, "images"))
            kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
            reference = host_pcrs(binary, images, kernel_dir, work)
            svc = Service(podman, work, kernel_dir, images)
            if svc.started:
                check_service(svc, reference)
                check_ci_image(podman, svc, reference, work)
                check_sigterm(podman)
    finally:
        if podman:
            podman.release()
        unmount_below(work)
        remove_work(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
