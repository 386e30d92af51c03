"""What the Python e2e suites all start from: the project's test images, a kernel bundle
made from Debian's cloud kernel (a development kernel, installed by scripts/install-deps.sh),
booting an EIF under QEMU, the registry lab (reglab/lab.sh), and a small registry serving an OCI
layout (LayoutRegistry)."""
import base64
import glob
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from ports import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
HOLD_SECONDS = 120  # LayoutRegistry's bound on a held layer: tests release it long before


# Debian's arm64 cloud kernel and an arm64 busybox, which an amd64 machine cannot apt-install:
# scripts/fetch-arm64-parts.sh (run by install-deps.sh) puts them here.
ARM64_PARTS = os.environ.get("OCI2EIF_ARM64_PARTS", "/usr/local/lib/oci2eif-tests/arm64")


def arm64_parts():
    """ARM64_PARTS, complete; exits the test naming the script that fetches it otherwise."""
    for name in ("Image", "Image.config", "busybox"):
        if not os.path.isfile(os.path.join(ARM64_PARTS, name)):
            raise SystemExit("%s/%s is missing: run scripts/fetch-arm64-parts.sh (install-deps.sh "
                             "does)" % (ARM64_PARTS, name))
    return ARM64_PARTS


def make_test_images(out_dir, busybox_arm64=None):
    """Runs tests/images/make_images.py into out_dir; exits the test on failure. With
    busybox_arm64 (a static arm64 busybox) the busybox-arm64 image is made too."""
    extra = ["--busybox-arm64", busybox_arm64] if busybox_arm64 else []
    r = subprocess.run([sys.executable, os.path.join(TESTS, "images", "make_images.py"), out_dir] + extra,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit("make_images.py failed: " + r.stderr)
    return out_dir


def make_kernel_bundle(bundle_dir):
    """A nitro-cli-style bundle (bzImage, bzImage.config) from the newest cloud kernel."""
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels:
        raise SystemExit("no /boot/vmlinuz-*-cloud-amd64: run scripts/install-deps.sh")
    os.makedirs(bundle_dir)
    shutil.copy(kernels[-1], os.path.join(bundle_dir, "bzImage"))
    shutil.copy("/boot/config-" + kernels[-1][len("/boot/vmlinuz-"):],
                os.path.join(bundle_dir, "bzImage.config"))
    return bundle_dir


def make_arm64_kernel_bundle(bundle_dir):
    """A nitro-cli-style aarch64 bundle (Image, Image.config) from arm64_parts()."""
    os.makedirs(bundle_dir)
    for name in ("Image", "Image.config"):
        shutil.copy(os.path.join(arm64_parts(), name), os.path.join(bundle_dir, name))
    return bundle_dir


def boot_eif(binary, eif, expect, timeout=240, arch="x86_64"):
    """Extracts an EIF with `oci2eif describe --extract` and boots its kernel and ramdisks under
    QEMU (tests/tools/qemu_boot.py), expecting each string of `expect` on the console.
    Returns (extracted, booted, detail): whether describe validated the EIF, whether the guest
    ran to its end printing all of `expect`, and what went wrong."""
    extract = eif + ".x"
    r = subprocess.run([binary, "describe", eif, "--extract", extract], capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        return False, False, r.stderr
    with open(os.path.join(extract, "cmdline")) as f:
        cmdline = f.read()
    cmd = [sys.executable, os.path.join(TESTS, "tools", "qemu_boot.py"),
           "--kernel", os.path.join(extract, "kernel"),
           "--initrd", os.path.join(extract, "ramdisk-0"),
           "--initrd", os.path.join(extract, "ramdisk-1"),
           "--append", cmdline, "--timeout", str(timeout), "--log", eif + ".console",
           "--arch", arch]
    for e in expect:
        cmd += ["--expect", e]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60)
    return True, r.returncode == 0, r.stdout[-1500:] + r.stderr[-500:]


def busybox_console(images_dir, image="busybox"):
    """What a busybox test image's app prints when it runs unchanged, and how init reports
    its exit: from the generator's manifest.json, written from the image definition."""
    with open(os.path.join(images_dir, "manifest.json")) as f:
        run = json.load(f)["images"][image]["expect"]["run"]
    return run["console"] + ["exited with status %d" % run["exit_code"]]


class RegistryLab:
    """The registry lab (tests/e2e/reglab/lab.sh) in a directory of its own: `env` holds its
    DIR/env (LAB_TOKEN, LAB_CA, LAB_USER, …). Use as a context manager: `down` runs on exit."""

    def __init__(self, directory):
        self.dir = directory
        self.env = {}

    def __enter__(self):
        r = subprocess.run(["bash", os.path.join(HERE, "reglab", "lab.sh"), "up", self.dir],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            self.__exit__()
            raise SystemExit("the registry lab did not start: " + r.stderr)
        with open(os.path.join(self.dir, "env")) as f:
            self.env = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        return self

    def __exit__(self, *exc):
        subprocess.run(["bash", os.path.join(HERE, "reglab", "lab.sh"), "down", self.dir],
                       capture_output=True, timeout=120)

    def cert_dir(self):
        """A directory with only the lab CA as ca.crt, as skopeo's --cert-dir wants it."""
        d = os.path.join(self.dir, "certs")
        os.makedirs(d, exist_ok=True)
        shutil.copy(self.env["LAB_CA"], os.path.join(d, "ca.crt"))
        return d

    def fault(self, mode, arg, count=1):
        """Sets the fault proxy's rule (reglab/faults.py); fault(None, …) clears it."""
        url = "http://%s/_fault" % self.env["LAB_FAULT"]
        if mode is None:
            req = urllib.request.Request(url, method="DELETE")
        else:
            req = urllib.request.Request("%s?mode=%s&arg=%s&count=%d" % (url, mode, arg, count),
                                         data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())


def write_docker_config(directory, auths):
    """DIRECTORY/config.json with docker's `auths` for {registry: (user, password)}; returns
    DIRECTORY, for DOCKER_CONFIG."""
    os.makedirs(directory, exist_ok=True)
    entries = {reg: {"auth": base64.b64encode(("%s:%s" % up).encode()).decode()}
               for reg, up in auths.items()}
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump({"auths": entries}, f)
    return directory


def require_tools(script, tools):
    """Exits naming the first missing tool: a missing package is an error, not a skip."""
    for tool in tools:
        if not shutil.which(tool):
            raise SystemExit("%s: %s is missing (scripts/install-deps.sh)" % (script, tool))


def start_process(cmd, log_path):
    """Starts `cmd` in its own session with stdout and stderr to `log_path`."""
    return subprocess.Popen(cmd, stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_process(proc):
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    if proc and proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_http(url, timeout=15):
    """True once `url` answers 200 (bounded poll)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url],
                           capture_output=True, text=True)
        if r.stdout == "200":
            return True
        time.sleep(0.1)
    return False


def unmount_below(directory):
    """Lazily unmounts whatever is still mounted below `directory` (a debootstrap stopped midway
    leaves its /proc and /sys; podman its overlays), deepest first, so removing the work
    directory crosses no mount point."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(directory + "/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=60)


def remove_work(work):
    """Removes a test's work directory, unless KEEP_WORK is set (for looking at it after)."""
    if os.environ.get("KEEP_WORK"):
        print("work dir kept: " + work)
    else:
        shutil.rmtree(work, ignore_errors=True)


class LayoutRegistry:
    """A registry serving one OCI layout's tags over the distribution API (plain HTTP) on
    127.0.0.1, a thread per request. With `hold`, it holds back every layer blob until release()
    (or HOLD_SECONDS): a build stays mid-pull for as long as a test needs."""

    def __init__(self, layout, hold=False):
        self.layout = layout
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.asked = threading.Event()  # a held blob was requested
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                registry.answer(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def blob_path(self, digest):
        return os.path.join(self.layout, "blobs", "sha256", digest.split(":", 1)[1])

    def is_layer(self, digest):
        """Layers are the blobs that are not JSON (manifests, indexes and configs are)."""
        try:
            json.load(open(self.blob_path(digest), "rb"))
            return False
        except ValueError:
            return True

    def manifest_for(self, ref):
        """(bytes, media type) of the manifest a tag or digest names, or None."""
        if not ref.startswith("sha256:"):
            index = json.load(open(os.path.join(self.layout, "index.json")))
            tagged = [m["digest"] for m in index["manifests"]
                      if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
            if not tagged:
                return None
            ref = tagged[0]
        if not os.path.isfile(self.blob_path(ref)):
            return None
        data = open(self.blob_path(ref), "rb").read()
        return data, json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json"), ref

    def answer(self, h):
        parts = h.path.split("/")
        if h.path == "/v2/":
            return self.send(h, 200, b"{}", "application/json")
        if len(parts) >= 5 and parts[-2] == "manifests":
            found = self.manifest_for(parts[-1])
            if not found:
                return self.send(h, 404, b"{}", "application/json")
            return self.send(h, 200, *found)
        if len(parts) >= 5 and parts[-2] == "blobs" and os.path.isfile(self.blob_path(parts[-1])):
            digest = parts[-1]
            if self.is_layer(digest):
                self.asked.set()
                self.released.wait(HOLD_SECONDS)
            data = open(self.blob_path(digest), "rb").read()
            return self.send(h, 200, data, "application/octet-stream", digest)
        return self.send(h, 404, b"{}", "application/json")

    @staticmethod
    def send(h, status, data, content_type, digest=None):
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        if digest:
            h.send_header("Docker-Content-Digest", digest)
        h.end_headers()
        h.wfile.write(data)

    def release(self):
        self.released.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()
