#!/usr/bin/env python3
"""Builds oci2eif's own container image as an OCI image layout, without Docker, reproducibly.

    cmake --install build --prefix /tmp/oci2eif-install
    deploy/container/build_image.py --install-dir /tmp/oci2eif-install --output oci2eif-image
    skopeo copy oci:oci2eif-image:0.1.0 docker://registry.example/oci2eif:0.1.0

The image holds what `oci2eif serve` needs and nothing else: the installed binary and its
enclave init binaries (/usr/bin, /usr/lib/oci2eif), the shared libraries `ldd` names for it
with the same paths and symlinks as on this (Debian 12) machine, the CA bundle for registry TLS,
a default /etc/oci2eif/config.json and an unprivileged user 10001 owning /var/lib/oci2eif.
No shell, no package manager.

Two layers (libraries and system files; then oci2eif), every entry owned by root except the
data directory, every time SOURCE_DATE_EPOCH (default 0), sorted, gzip without a timestamp: the
same install tree and libraries give the same image digest, whatever the umask, TZ or cwd. (The
gzip bytes come from Python's zlib: the same digest needs the same Python/zlib, e.g. Debian 12's.)

The image's architecture is this machine's (amd64 on x86_64, arm64 on aarch64).
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import time

USER = 10001
DATA_DIR = "var/lib/oci2eif"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
LISTEN_PORT = 8080
# The configuration the image starts with (config.json beside this file, which the top-level
# Dockerfile installs too): the API on every address, which the daemon allows only with tokens,
# hence the token file (mount it, e.g. from a Kubernetes Secret; without it the daemon refuses to
# start and says why). Kernels are uploaded (POST /v1/kernels, stored in the data directory) or
# configured in a config.json mounted over this one.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.json"), "rb") as _f:
    DEFAULT_CONFIG_BYTES = _f.read()
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class Tree:
    """Entries of one layer by path (no leading "/"), written as a sorted, normalized tar."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.entries = {}

    def add_dir(self, path, mode=0o755, owner=0):
        self.entries.setdefault(path, ("dir", mode, owner, None))

    def add_parents(self, path):
        parent = os.path.dirname(path)
        while parent:
            self.add_dir(parent)
            parent = os.path.dirname(parent)

    def add_file(self, path, data, mode=0o644):
        self.add_parents(path)
        self.entries[path] = ("file", mode, 0, data)

    def add_symlink(self, path, target):
        self.add_parents(path)
        self.entries[path] = ("symlink", 0o777, 0, target)

    def tar(self):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
            for path in sorted(self.entries):
                kind, mode, owner, payload = self.entries[path]
                info = tarfile.TarInfo(path)
                info.mode, info.uid, info.gid, info.mtime = mode, owner, owner, self.epoch
                info.uname = info.gname = ""
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    t.addfile(info)
                elif kind == "symlink":
                    info.type, info.linkname = tarfile.SYMTYPE, payload
                    t.addfile(info)
                else:
                    info.size = len(payload)
                    t.addfile(info, io.BytesIO(payload))
        return out.getvalue()


def copy_host_path(tree, path):
    """Adds host `path` (absolute) with every symlink on the way, as the host has them."""
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        here = "/" + "/".join(parts[:i])
        if os.path.islink(here):
            target = os.readlink(here)
            tree.add_symlink(here[1:], target)
            rest = "/".join(parts[i:])
            resolved = os.path.normpath(os.path.join(os.path.dirname(here), target))
            copy_host_path(tree, resolved + ("/" + rest if rest else ""))
            return
        if i < len(parts):
            tree.add_dir(here[1:])
    with open(path, "rb") as f:
        tree.add_file(path[1:], f.read(), 0o755 if os.stat(path).st_mode & 0o111 else 0o644)


def shared_libraries(binary):
    """Absolute paths of the libraries (and the loader) that ldd resolves for `binary`."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    paths = []
    for line in r.stdout.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            paths.append(m.group(1))
        elif "not found" in line:
            raise SystemExit("build_image: %s: %s" % (binary, line.strip()))
    return sorted(set(paths))


def system_layer(binary, epoch):
    tree = Tree(epoch)
    for lib in shared_libraries(binary):
        copy_host_path(tree, lib)
    copy_host_path(tree, CA_BUNDLE)
    tree.add_file("etc/passwd", b"root:x:0:0:root:/:/sbin/nologin\n"
                  b"oci2eif:x:%d:%d:oci2eif:/%s:/sbin/nologin\n" % (USER, USER, DATA_DIR.encode()))
    tree.add_file("etc/group", b"root:x:0:\noci2eif:x:%d:\n" % USER)
    tree.add_dir("tmp", 0o1777)
    tree.add_parents(DATA_DIR)
    tree.add_dir(DATA_DIR, 0o750, USER)
    return tree


def oci2eif_layer(install_dir, epoch):
    tree = Tree(epoch)
    with open(os.path.join(install_dir, "bin", "oci2eif"), "rb") as f:
        tree.add_file("usr/bin/oci2eif", f.read(), 0o755)
    init_dir = os.path.join(install_dir, "lib", "oci2eif")
    for name in sorted(os.listdir(init_dir)):
        with open(os.path.join(init_dir, name), "rb") as f:
            tree.add_file("usr/lib/oci2eif/" + name, f.read(), 0o755)
    tree.add_file("etc/oci2eif/config.json", DEFAULT_CONFIG_BYTES)
    return tree


class Layout:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)

    def blob(self, data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.path, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def finish(self, manifest_desc):
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion": "1.0.0"}')
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [manifest_desc]}
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump(index, f, sort_keys=True)


def version_of(binary):
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return r.stdout.split()[-1]


def arch_name():
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def build(install_dir, output, tag, epoch):
    binary = os.path.join(install_dir, "bin", "oci2eif")
    version = version_of(binary)
    tag = tag or version
    if os.path.exists(output) and os.listdir(output):
        raise SystemExit("build_image: %s is not empty" % output)
    layout = Layout(output)
    layers, diff_ids = [], []
    for tree in (system_layer(binary, epoch), oci2eif_layer(install_dir, epoch)):
        raw = tree.tar()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        layers.append(layout.blob(gzip.compress(raw, compresslevel=6, mtime=0), OCI_LAYER))
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    labels = {"org.opencontainers.image.title": "oci2eif",
              "org.opencontainers.image.description": "Builds AWS Nitro Enclave images (EIF) from OCI images",
              "org.opencontainers.image.version": version}
    config = {
        "created": created, "architecture": arch_name(), "os": "linux",
        "config": {"User": "%d:%d" % (USER, USER), "Entrypoint": ["/usr/bin/oci2eif"],
                   "Cmd": ["serve", "--config", "/etc/oci2eif/config.json"],
                   "Env": ["PATH=/usr/bin:/bin"], "WorkingDir": "/" + DATA_DIR,
                   "ExposedPorts": {"%d/tcp" % LISTEN_PORT: {}}, "Volumes": {"/" + DATA_DIR: {}},
                   "StopSignal": "SIGTERM", "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "deploy/container/build_image.py: " + what}
                    for what in ("shared libraries, CA bundle, user", "oci2eif " + version)],
    }
    config_desc = layout.blob(json.dumps(config, sort_keys=True).encode(), OCI_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc,
                "layers": layers, "annotations": labels}
    manifest_desc = layout.blob(json.dumps(manifest, sort_keys=True).encode(), OCI_MANIFEST)
    manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    layout.finish(manifest_desc)
    return manifest_desc["digest"], tag


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install-dir", required=True, help="a `cmake --install` prefix")
    ap.add_argument("--output", required=True, help="new or empty directory for the OCI layout")
    ap.add_argument("--tag", help="ref name in index.json (default: oci2eif's version)")
    a = ap.parse_args()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    digest, tag = build(os.path.abspath(a.install_dir), a.output, a.tag, epoch)
    print("%s:%s %s" % (a.output, tag, digest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
