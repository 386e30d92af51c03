#!/usr/bin/python3
"""oci2eif's container image and Kubernetes manifest work together, without a container runtime.

- deploy/container/build_image.py builds the image (an OCI layout) from `cmake --install`; a
  second build under another umask, TZ and directory has the same digest.
- `oci2eif rootfs` reads the image: binary, init binaries, CA bundle, the data directory owned
  by the image's user, no shell.
- deploy/kubernetes's overlays, rendered with `kubectl kustomize`, agree with the image and with
  themselves (user, port, probes, mounts against the config's paths; single-node: one replica
  with Recreate; scale-out: two or more, rolling). tests/deploy/kubernetes_test.py checks them
  further, without the image.
- The image's default configuration, without its token file, refuses to start and says why.
- The image, unpacked by umoci, runs like the manifest runs it: chroot as user 10001, the root
  file system read-only, tmpfs at /tmp and at the data volume, the ConfigMap's config.json and
  the Secret's tokens (placeholders filled in) at their mount paths, as the single-node overlay
  has them. It answers /healthz and
  /readyz, builds busybox with the build token to the build tree's PCRs, and exits 0 on SIGTERM.
- The Secret as shipped (placeholder tokens) is refused.

CTest runs it in its own mount and PID namespaces (unshare), so that even a SIGKILL on timeout
leaves no mount and no daemon behind.

usage: container_test.py BUILD_DIR   (root, Debian's python3 with python3-yaml, umoci, the
                                      Debian cloud kernel, kubectl; exits 77 without kubectl)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import serve_e2e  # noqa: E402  (Daemon)
from checks import check, summary  # noqa: E402
from fixtures import make_kernel_bundle, make_test_images, remove_work  # noqa: E402
from ports import free_port  # noqa: E402

BUILD_IMAGE = os.path.join(ROOT, "deploy", "container", "build_image.py")
OVERLAYS = os.path.join(ROOT, "deploy", "kubernetes", "overlays")


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def build_image(prefix, out, cwd, env=None, umask=None):
    cmd = [sys.executable, BUILD_IMAGE, "--install-dir", prefix, "--output", out, "--tag", "test"]
    if umask:
        cmd = ["bash", "-c", "umask %s && exec \"$@\"" % umask, "-"] + cmd
    r = run(cmd, cwd=cwd, env=env)
    return r.stdout.split()[-1] if r.returncode == 0 else None, r.stderr


def check_listing(binary, layout):
    r = run([binary, "rootfs", "--oci-layout", layout + ":test"])
    entries = {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        entries[f[0]] = f
    check("oci2eif rootfs reads the image", r.returncode == 0, r.stderr[-400:])
    check("the image has the binary and both init binaries",
          all(entries.get(p, [None, ""])[1] == "file" for p in
              ("usr/bin/oci2eif", "usr/lib/oci2eif/oci2eif-init-x86_64",
               "usr/lib/oci2eif/oci2eif-init-aarch64")))
    check("the image has the CA bundle for registry TLS",
          entries.get("etc/ssl/certs/ca-certificates.crt", [None, ""])[1] == "file")
    check("the data directory belongs to user 10001, mode 0750",
          entries.get("var/lib/oci2eif", [])[1:4] == ["dir", "0750", "10001:10001"], entries.get("var/lib/oci2eif"))
    check("no shell in the image", not any(p.endswith("bin/sh") or p.endswith("bin/bash") for p in entries))


def image_config(layout):
    with open(os.path.join(layout, "index.json")) as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    blob = lambda d: json.load(open(os.path.join(layout, "blobs", "sha256", d.split(":")[1])))
    return blob(blob(manifest_digest)["config"]["digest"])["config"]


def manifest_parts(overlay):
    """The overlay rendered by `kubectl kustomize`: {"Kind/name": object}, the pod spec."""
    r = run(["kubectl", "kustomize", os.path.join(OVERLAYS, overlay)], timeout=120)
    if r.returncode != 0:
        raise SystemExit("container_test: kubectl kustomize %s: %s" % (overlay, r.stderr))
    docs = {"%s/%s" % (d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(r.stdout) if d}
    return docs, docs["Deployment/oci2eif"]["spec"]["template"]["spec"]


def check_manifest(config):
    """Both overlays against the image; returns the single-node one's parts, which the rest of
    the test runs."""
    parts = check_overlay(config, "scale-out")
    scale = parts[0]["Deployment/oci2eif"]["spec"]
    check("scale-out: two replicas or more, rolling with none unavailable",
          scale["replicas"] >= 2 and scale["strategy"]["type"] == "RollingUpdate"
          and scale["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, scale)
    parts = check_overlay(config, "single-node")
    single = parts[0]["Deployment/oci2eif"]["spec"]
    check("single-node: one replica, Recreate (SQLite has one writer)",
          single["replicas"] == 1 and single["strategy"]["type"] == "Recreate")
    return parts


def check_overlay(config, overlay):
    docs, pod = manifest_parts(overlay)
    container = pod["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    cm = json.loads(docs["ConfigMap/oci2eif-config"]["data"]["config.json"])
    port = int(cm["listen"].rsplit(":", 1)[1])
    uid = int(config["User"].split(":")[0])
    ok = lambda what, *rest: check("%s: %s" % (overlay, what), *rest)  # noqa: E731
    ok("the pod runs as the image's user, non-root, read-only root, no privileges",
       pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["runAsNonRoot"] is True
       and container["securityContext"]["readOnlyRootFilesystem"] is True
       and container["securityContext"]["allowPrivilegeEscalation"] is False
       and container["securityContext"]["capabilities"]["drop"] == ["ALL"])
    ok("the container port is the config's listen port and the image's exposed port",
       container["ports"][0]["containerPort"] == port and "%d/tcp" % port in config["ExposedPorts"])
    ok("probes: /readyz for readiness, /healthz for liveness, on that port",
       container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
       and container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
       and container["ports"][0]["name"] == "http"
       and docs["Service/oci2eif"]["spec"]["ports"][0]["targetPort"] == "http")
    ok("mounts match the config: data volume at data_dir, the Secret at token_file, the "
       "ConfigMap at --config, writable /tmp",
       mounts["data"] == cm["data_dir"] and os.path.join(mounts["tokens"], "tokens") == cm["token_file"]
       and container["args"] == ["serve", "--config", os.path.join(mounts["config"], "config.json")]
       and mounts["tmp"] == "/tmp", (mounts, cm, container["args"]))
    ok("the data volume is the image's declared volume", cm["data_dir"] in config["Volumes"])
    return docs, container, mounts, cm


def prepare_rootfs(rootfs, docs, mounts, kernel, images, mounted):
    """Writes what the pod mounts into the unpacked image, then makes the root read-only with
    the pod's writable mounts and a minimal /dev (as a container runtime does; never the
    host's). Each mount point is appended to `mounted` as soon as it exists."""
    def put(path, text):
        os.makedirs(os.path.dirname(rootfs + path), exist_ok=True)
        with open(rootfs + path, "w") as f:
            f.write(text)
    put(os.path.join(mounts["config"], "config.json"), docs["ConfigMap/oci2eif-config"]["data"]["config.json"])
    put(os.path.join(mounts["tokens"], "tokens"), filled_secret(docs))
    put(SHIPPED_TOKENS, docs["Secret/oci2eif-tokens"]["stringData"]["tokens"])
    shutil.copytree(kernel, rootfs + "/srv/kernel")
    shutil.copytree(os.path.join(images, "busybox"), rootfs + "/srv/images/busybox")
    for d in ("/proc", "/dev"):
        os.makedirs(rootfs + d, exist_ok=True)
    steps = [(rootfs, ["--bind", rootfs, rootfs]),
             (None, ["-o", "remount,bind,ro", rootfs]),
             (rootfs + "/proc", ["-t", "proc", "proc", rootfs + "/proc"]),
             (rootfs + "/dev", ["-t", "tmpfs", "-o", "mode=0755,size=64k", "tmpfs", rootfs + "/dev"]),
             (rootfs + "/tmp", ["-t", "tmpfs", "-o", "mode=1777", "tmpfs", rootfs + "/tmp"]),
             (rootfs + mounts["data"], ["-t", "tmpfs", "-o", "size=4g,mode=0750,uid=10001,gid=10001",
                                        "tmpfs", rootfs + mounts["data"]])]
    for point, args in steps:
        r = run(["mount", *args])
        if r.returncode != 0:
            raise SystemExit("container_test: mount %s: %s" % (" ".join(args), r.stderr))
        if point:
            mounted.append(point)
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("random", 1, 8), ("urandom", 1, 9)):
        os.mknod(rootfs + "/dev/" + name, 0o20666, os.makedev(major, minor))
        os.chmod(rootfs + "/dev/" + name, 0o666)


def unmount_all(mounted, work):
    """Unmounts (innermost first); True when nothing below `work` is mounted any more."""
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", point], capture_output=True)
    with open("/proc/self/mounts") as f:
        return not any(line.split()[1].startswith(work + "/") for line in f)


def in_image(rootfs, *argv, env=()):
    """The image's binary as the pod runs it: user 10001, a bare environment (plus `env`, and
    the sanitizer options of the ASan+UBSan pass, for a sanitized binary)."""
    sanitizers = ["%s=%s" % (k, v) for k, v in sorted(os.environ.items()) if k.endswith("SAN_OPTIONS")]
    return ["env", "-i", "PATH=/usr/bin", "DOCKER_CONFIG=/etc/oci2eif/docker", *env, *sanitizers,
            shutil.which("chroot"), "--userspec=10001:10001", rootfs, "/usr/bin/oci2eif", *argv]


# What an operator puts in place of the Secret's placeholders.
TOKENS = {"build": "container-test-build-" + os.urandom(8).hex(),
          "read": "container-test-read-" + os.urandom(8).hex()}


def filled_secret(docs):
    """The Secret's token file with each role's placeholder replaced by TOKENS[role]."""
    lines = []
    for line in docs["Secret/oci2eif-tokens"]["stringData"]["tokens"].splitlines():
        f = line.split()
        lines.append(" ".join([f[0], TOKENS[f[0]]] + f[2:]) if f and f[0] in TOKENS else line)
    return "\n".join(lines) + "\n"


SHIPPED_TOKENS = "/etc/oci2eif/shipped/tokens"  # the manifest's Secret, placeholders and all


def check_refusals(rootfs, mounts):
    """The image's default config refuses to start without its token file, and the manifest's
    Secret as shipped (placeholder tokens) is refused; both say why. (Run in the prepared root:
    a sanitized binary needs /proc even to fail.)"""
    listen = ("--listen", "127.0.0.1:%d" % free_port())
    r = run(in_image(rootfs, "serve", "--config", "/etc/oci2eif/config.json", *listen), timeout=60)
    check("the image's default config without its token file refuses to start, naming the file",
          r.returncode != 0 and "/etc/oci2eif/tokens" in r.stderr, (r.returncode, r.stderr[-400:]))
    r = run(in_image(rootfs, "serve", "--config", os.path.join(mounts["config"], "config.json"),
                     *listen, env=["OCI2EIF_TOKEN_FILE=" + SHIPPED_TOKENS]), timeout=60)
    check("the manifest's Secret as shipped is refused: its placeholders are too short",
          r.returncode != 0 and "shorter than 16 characters" in r.stderr, (r.returncode, r.stderr[-400:]))


def check_runs(work, rootfs, mounts, reference_pcrs):
    port = free_port()
    daemon = serve_e2e.Daemon("unused", work, "unused", port)
    daemon.cmd = in_image(rootfs, "serve", "--config", os.path.join(mounts["config"], "config.json"),
                          "--listen", "127.0.0.1:%d" % port, "--kernel-dir", "cloud=/srv/kernel",
                          "--local-images", "/srv/images", "--workers", "1")
    try:
        daemon.start()
        check("/readyz is 200 (the data volume is writable, the floor is met)",
              daemon.request("GET", "/readyz", token=None)[0] == 200)
        status, b, _ = daemon.request("POST", "/v1/builds",
                                      {"image": "oci-layout:/srv/images/busybox:latest"},
                                      token=TOKENS["build"])
        done = (daemon.wait(b["id"], ("succeeded", "failed"), token=TOKENS["read"])
                if status == 202 else None)
        if not check("the Secret's build token builds busybox in the image, read-only root and all",
                     done is not None and done["state"] == "succeeded", (status, b, done)):
            with open(daemon.log, errors="replace") as f:
                print(f.read()[-3000:])
        check("with the build tree's PCRs",
              done is not None and all(done.get("pcrs", {}).get(k) == reference_pcrs[k]
                                       for k in ("PCR0", "PCR1", "PCR2")), (done, reference_pcrs))
        os.kill(daemon.proc.pid, signal.SIGTERM)
        check("SIGTERM: the daemon exits 0", daemon.proc.wait(timeout=60) == 0)
    finally:
        daemon.stop()


def main():
    build_dir = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        raise SystemExit("container_test: needs root (chroot, mounts)")
    if not shutil.which("kubectl"):
        print("container_test: SKIP: no kubectl on PATH to render deploy/kubernetes "
              "(scripts/install-deps.sh installs Debian's kubernetes-client)")
        return 77
    # SIGTERM (a person, a CI job) exits through the finally blocks, which unmount. CTest's own
    # timeout kills outright: CMakeLists runs this in private mount and PID namespaces for that.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = os.path.realpath(tempfile.mkdtemp(prefix="oci2eif-container-"))
    mounted = []
    try:
        prefix = os.path.join(work, "prefix")
        r = run(["cmake", "--install", build_dir, "--prefix", prefix])
        if not check("cmake --install", r.returncode == 0, r.stderr):
            return summary()
        layout = os.path.join(work, "image")
        first, err = build_image(prefix, layout, work)
        check("build_image.py builds the image", first is not None, err[-600:])
        other = tempfile.mkdtemp(dir=work)
        env = dict(os.environ, TZ="Pacific/Kiritimati", LC_ALL="C.UTF-8")
        second, err = build_image(prefix, os.path.join(other, "image"), other, env=env, umask="077")
        check("built again under another umask, TZ and directory: the same digest %s" % first,
              second is not None and second == first, (first, second, err[-400:]))

        binary = os.path.join(build_dir, "cli", "oci2eif")
        check_listing(binary, layout)
        docs, _, mounts, _ = check_manifest(image_config(layout))

        bundle = os.path.join(work, "bundle")
        r = run(["umoci", "unpack", "--image", layout + ":test", bundle])
        if not check("umoci unpacks the image", r.returncode == 0, r.stderr[-400:]):
            return summary()
        images = make_test_images(os.path.join(work, "images"))
        kernel = make_kernel_bundle(os.path.join(work, "kernel"))
        r = run([binary, "build", "--oci-layout", os.path.join(images, "busybox") + ":latest",
                 "--kernel-dir", kernel, "--output", os.path.join(work, "reference.eif")])
        reference = json.loads(r.stdout)["Measurements"] if r.returncode == 0 else {}
        rootfs = os.path.join(bundle, "rootfs")
        prepare_rootfs(rootfs, docs, mounts, kernel, images, mounted)
        check_refusals(rootfs, mounts)
        check_runs(work, rootfs, mounts, reference)
    finally:
        if unmount_all(mounted, work):
            remove_work(work)
        else:
            print("container_test: something is still mounted below %s; not removing it" % work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
