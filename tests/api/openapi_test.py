#!/usr/bin/env python3
"""The OpenAPI document, checked by real tools from npm rather than by ourselves:

  - Redocly CLI lints api/openapi.json with its strict recommended rules (tests/api/redocly.yaml):
    an operationId and tags on every operation, 4xx responses, no unused components, ...;
  - a real daemon serves the same document at /v1/openapi.json;
  - openapi-typescript generates types from the live server's document, and a client written
    against them (tests/api/client.ts: free-form `metadata`, the `wait` long poll, the Build
    schema) compiles with `tsc --strict`, then runs against that server: its build succeeds,
    with the 202 and Location the document promises.

The tools (tests/api/openapi-tools: exact versions and lock) are installed with `npm ci` under
BUILD_DIR once, and again when the lock changes.

usage: openapi_test.py OCI2EIF_BINARY BUILD_DIR   (exits 77 without node or npm)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS, "e2e"))
import serve_e2e  # noqa: E402  (Daemon, write_tokens, tokens)
from checks import check, summary  # noqa: E402
from fixtures import make_kernel_bundle, make_test_images, remove_work  # noqa: E402
from ports import free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
TOOLS = os.path.join(HERE, "openapi-tools")
SKIP = 77


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def install_tools(build_dir):
    """npm ci of the tools into BUILD_DIR/tests/api/openapi-tools; its node_modules/.bin, or
    None (the failure reported)."""
    dest = os.path.join(build_dir, "tests", "api", "openapi-tools")
    with open(os.path.join(TOOLS, "package-lock.json")) as f:
        lock = f.read()
    stamp = os.path.join(dest, "installed-lock.json")
    if not (os.path.exists(stamp) and open(stamp).read() == lock):
        os.makedirs(dest, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(TOOLS, name), dest)
        r = run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dest, timeout=600)
        if not check("npm ci installs Redocly CLI, openapi-typescript and TypeScript", r.returncode == 0,
                     r.stderr[-1500:]):
            return None
        with open(stamp, "w") as f:
            f.write(lock)
    return os.path.join(dest, "node_modules", ".bin")


def check_lint(bin_dir):
    r = run([os.path.join(bin_dir, "redocly"), "lint", "--config", os.path.join(HERE, "redocly.yaml"),
             os.path.join(REPO, "api", "openapi.json")])
    check("Redocly CLI lints api/openapi.json clean under recommended-strict", r.returncode == 0,
          (r.stdout + r.stderr)[-3000:])


def start_daemon(binary, work):
    images = make_test_images(os.path.join(work, "images"))
    kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
    serve_e2e.write_tokens(work)
    daemon = serve_e2e.Daemon(binary, work, kernel_dir, free_port())
    daemon.env = dict(os.environ, OCI2EIF_NITRO_CLI_BLOBS=os.path.join(work, "no-blobs"))
    daemon.start()
    return daemon, "oci-layout:" + os.path.join(images, "busybox") + ":latest"


def check_generated_client(bin_dir, daemon, image, work):
    status, served, _ = daemon.request("GET", "/v1/openapi.json", token=None)
    with open(os.path.join(REPO, "api", "openapi.json")) as f:
        check("the daemon serves api/openapi.json at /v1/openapi.json", status == 200 and served == json.load(f))
    client = os.path.join(work, "client")
    os.makedirs(client)
    r = run([os.path.join(bin_dir, "openapi-typescript"), daemon.base + "/v1/openapi.json",
             "-o", os.path.join(client, "schema.d.ts")])
    if not check("openapi-typescript generates types from the live server's document", r.returncode == 0,
                 (r.stdout + r.stderr)[-1500:]):
        return
    shutil.copy(os.path.join(HERE, "client.ts"), client)
    r = run([os.path.join(bin_dir, "tsc"), "--strict", "--noUncheckedIndexedAccess", "--target", "es2022",
             "--module", "es2022", "--lib", "es2022,dom", "--outDir", os.path.join(client, "out"),
             os.path.join(client, "client.ts")])
    if not check("a client written against the generated types compiles with tsc --strict",
                 r.returncode == 0, (r.stdout + r.stderr)[-3000:]):
        return
    with open(os.path.join(client, "out", "package.json"), "w") as f:
        json.dump({"type": "module"}, f)
    r = run(["node", os.path.join(client, "out", "client.js"), daemon.base, serve_e2e.BUILD, image])
    result = json.loads(r.stdout) if r.returncode == 0 else {}
    check("the compiled client builds through the live server: 202 with Location, then succeeded",
          result.get("status") == 202 and result.get("location") == "/v1/builds/" + result.get("id", "?")
          and result.get("state") == "succeeded" and len(result.get("pcr0") or "") == 96,
          (r.stdout, r.stderr[-1500:]))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    absent = [t for t in ("node", "npm") if not shutil.which(t)]
    if absent:
        print("SKIPPED: %s not installed (scripts/install-deps.sh installs nodejs and npm)" % ", ".join(absent))
        return SKIP
    binary, build_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    bin_dir = install_tools(build_dir)
    if not bin_dir:
        return summary()
    check_lint(bin_dir)
    work = tempfile.mkdtemp(prefix="oci2eif-openapi-")
    daemon = None
    try:
        daemon, image = start_daemon(binary, work)
        check_generated_client(bin_dir, daemon, image, work)
    finally:
        if daemon:
            daemon.stop()
        remove_work(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
