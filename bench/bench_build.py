#!/usr/bin/env python3
"""Wall time and peak memory of `oci2eif build` (image -> EIF) on a large multi-layer image.

Generates a synthetic OCI image layout of about --size-mib MiB of uncompressed layer tars, then
times, best of --runs:

  oci2eif build    --oci-layout DIR:latest --kernel-dir KB --output OUT.eif  (warm: the whole
                   pipeline from local blobs)
  cold build       the same image pushed (skopeo) to a docker-registry on 127.0.0.1, built with
                   --image and an empty --cache-dir each run: downloading counted
  cold, paced      with --link-mbps R: also a cold build through a relay that passes the
                   registry's bytes at R MB/s in all (one link shared by every connection), a
                   network slower than loopback; the link alone needs blobs / R seconds
  oci2eif rootfs   --oci-layout DIR:latest                                    (flatten only)
  zcat             zcat -f of the layer blobs in order (one core, zlib: the issue's yardstick)
  baseline         umoci unpack --image DIR:latest BUNDLE, then in BUNDLE/rootfs
                   `find . | LC_ALL=C sort | cpio -o -H newc > OUT.cpio` (the classic initramfs)
  floor            sha384sum OUT.cpio (one hash pass over the baseline's ramdisk)

and prints seconds, MB/s (uncompressed image size, i.e. the sum of the layer tars, over seconds)
and peak RSS for each, with the ratio of oci2eif to the baseline. Not a test: no thresholds.

The image (4 layers, Entrypoint /app/bin/server):
  1. gzip -1  "base": thousands of small files (0.5-8 KiB, half text, half random bytes)
  2. gzip -1  "bulk": large files (tens of MiB); with --bulk tar stored uncompressed
              (application/vnd.oci.image.layer.v1.tar)
  3. gzip -1  "data": more large files, so the gzip path sees real volume too
  Large files hold --content text (the default: slices of a seeded word salad, each followed
  by a random run, which gzip -1 shrinks about 3x, as it does real images' code and text) or
  random (os.urandom: gzip stores it, so inflating costs little; the image of the figures
  before 2026-12-07, with --bulk tar).
  4. gzip -1  "app": the entrypoint, overwrites of a large file (layer 2) and of small files
              (layer 1), whiteouts of a file (layer 3) and a whole directory (layer 1), and an
              opaque directory
Names, sizes and text content are seeded; os.urandom bytes differ between runs.
Generation time is printed but not counted. `umoci unpack` also writes an mtree manifest
(hashing every file); --umoci-raw uses `umoci raw unpack` (rootfs only) instead.

Run as root (umoci unpack keeps owners only as root). Needs GNU time (Debian package `time`),
umoci and cpio. Everything is written under one temp dir in /tmp, removed at the end, also on
failure or SIGTERM/SIGINT.

Figures are printed as a table, then the ratios: warm and cold build over zcat (issue 11's
goals: 0.7x and 0.9x), build over umoci + cpio, build over one sha384sum pass.

usage: bench/bench_build.py [--oci2eif build/cli/oci2eif] [--size-mib 1024] [--runs 2]
                            [--umoci-raw] [--bulk gzip|tar] [--content text|random]
                            [--no-cold] [--small-files N]

--small-files N generates instead one gzip layer of N files of 1-8 KiB (seeded: the same bytes
every run), for the many-small-files case.
"""
import argparse
import asyncio
import glob
import gzip
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "images"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from imagelib import (CREATED, OCI, OPQ, WH, D, F, Layout, S, jbytes,  # noqa: E402
                      pad, tar_header)
from fixtures import start_process, stop_process, wait_http  # noqa: E402
from ports import free_port  # noqa: E402

MIB = 1 << 20
CHUNK = 4 * MIB
WORDS = (b"enclave attestation kernel ramdisk layer digest manifest config image nitro "
         b"measurement bootstrap init rootfs whiteout opaque hardlink symlink tarball").split()


def measure(cmd, cwd=None):
    """Runs cmd and returns (seconds, peak RSS in MiB) of that command alone."""
    # Dirty pages left by what ran before (the generated image, the last EIF or unpack) are
    # written back first, so that no command pays for another's writeback.
    os.sync()
    # GNU time reports the child's own maximum RSS (for `sh -c` pipelines: the largest single
    # process among the shell's children, not a sum).
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, cwd=cwd, check=False,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr}")
    seconds, rss_kib = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(rss_kib) / 1024


# ---------------------------------------------------------------- streaming layer writer
class HashingFile:
    """A write-only file that also keeps the sha256 and size of what went through it."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.h = hashlib.sha256()
        self.size = 0

    def write(self, b):
        self.h.update(b)
        self.size += len(b)
        return self.f.write(b)

    def flush(self):
        self.f.flush()

    def close(self):
        self.f.close()


class LayerWriter:
    """Streams one layer: tar bytes -> diff_id hash -> (gzip -1 | nothing) -> blob hash -> file.

    imagelib's make_tar/compress build a layer in memory, which a 1 GiB image cannot afford;
    this writes the same headers (imagelib.tar_header: PAX, fixed mtime, no user names).
    """

    def __init__(self, staging, how):
        self.how = how
        self.tmp = os.path.join(staging, f"layer-{len(os.listdir(staging))}.tmp")
        self.blob = HashingFile(self.tmp)
        self.out = (gzip.GzipFile(filename="", mode="wb", compresslevel=1, fileobj=self.blob,
                                  mtime=0) if how == "gzip" else self.blob)
        self.diff = hashlib.sha256()
        self.diff_size = 0
        self.files = self.bytes = 0

    def _w(self, b):
        self.diff.update(b)
        self.diff_size += len(b)
        self.out.write(b)

    def add(self, e):
        self._w(tar_header(e))
        if e.kind == "file":
            self._w(e.data + pad(len(e.data)))
            self.files += 1
            self.bytes += len(e.data)

    def add_random(self, path, size, make=os.urandom, mode=0o644):
        """A regular file of `size` bytes from make(n) (os.urandom), streamed."""
        self._w(tar_header(F(path, b"", mode), size=size))
        left = size
        while left:
            n = min(left, CHUNK)
            self._w(make(n))
            left -= n
        self._w(pad(size))
        self.files += 1
        self.bytes += size

    def close(self, blobs_dir):
        self._w(b"\0" * 1024)
        if self.how == "gzip":
            self.out.close()
        self.blob.close()
        hexd = self.blob.h.hexdigest()
        os.rename(self.tmp, os.path.join(blobs_dir, hexd))
        return {"mediaType": OCI[self.how], "digest": "sha256:" + hexd, "size": self.blob.size}, \
            "sha256:" + self.diff.hexdigest()


class TextBytes:
    """Compressible bytes like an image's code and text: slices of a seeded 1 MiB word salad,
    each followed by random bytes a quarter its length; gzip -1 shrinks them about 3x."""

    def __init__(self, rng):
        self.rng = rng
        self.pool = b" ".join(rng.choice(WORDS) for _ in range(MIB // 6))[:MIB]

    def __call__(self, n):
        parts, left = [], n
        while left > 0:
            k = min(left, self.rng.randrange(4096, 65536))
            start = self.rng.randrange(0, len(self.pool) - k)
            parts += [self.pool[start:start + k], self.rng.randbytes(k // 4)]
            left -= k + k // 4
        return b"".join(parts)[:n]


def small_content(rng, size):
    """Half text (compressible), half random bytes: a few KiB that gzip shrinks somewhat."""
    text = b" ".join(rng.choice(WORDS) for _ in range(size // 16 + 1))[: size // 2]
    return text + os.urandom(size - len(text))


def parents(path, seen, layer):
    """Directory entries for the parents of `path` not yet written to this layer."""
    parts = path.split("/")[:-1]
    for i in range(len(parts)):
        d = "/".join(parts[: i + 1])
        if d not in seen:
            seen.add(d)
            layer.add(D(d))


def generate(layout_dir, staging, size_mib, bulk, content, seed=1):
    """Writes the image layout; returns a dict of facts for the report."""
    rng = random.Random(seed)
    total = size_mib * MIB
    make = TextBytes(random.Random(seed + 1)) if content == "text" else os.urandom
    os.makedirs(staging)
    blobs_dir = staging
    layers, diff_ids, stats = [], [], []

    def big_sizes(budget):
        """Sizes of tens of MiB summing to about `budget` bytes."""
        sizes = []
        while budget > 4 * MIB:
            s = min(budget, rng.randrange(16, 65) * MIB + rng.randrange(0, MIB))
            sizes.append(s)
            budget -= s
        return sizes

    def finish(layer, name):
        desc, diff = layer.close(blobs_dir)
        layers.append(desc)
        diff_ids.append(diff)
        stats.append((name, layer.how, layer.files, layer.diff_size, desc["size"]))

    # Layer 1: the base, thousands of small files in a two-level tree (8% of the budget).
    l1 = LayerWriter(staging, "gzip")
    seen = set()
    small_budget, small_paths, i = total * 8 // 100, [], 0
    while small_budget > 0:
        path = f"usr/share/pkg{i // 400:03d}/sub{(i // 40) % 10}/file{i:05d}.dat"
        size = rng.randrange(512, 8 * 1024)
        parents(path, seen, l1)
        l1.add(F(path, small_content(rng, size)))
        small_paths.append(path)
        small_budget -= size + 1024  # content + header + padding, roughly
        i += 1
    for d in ("etc", "opt/cache", "tmp"):
        parents(d + "/x", seen, l1)
    l1.add(F("etc/os-release", "NAME=oci2eif-bench\n"))
    l1.add(F("etc/motd", "replaced by layer 4\n"))
    l1.add(F("opt/cache/stale.bin", os.urandom(64 * 1024)))
    l1.add(S("usr/bin", "../bin"))
    finish(l1, "base")

    # Layer 2: big random files (46% of the budget), gzip -1 or an uncompressed tar.
    l2 = LayerWriter(staging, bulk)
    l2.add(D("srv"))
    l2.add(D("srv/models"))
    sizes2 = big_sizes(total * 46 // 100)
    bulk = [f"srv/models/shard{k:02d}.bin" for k in range(len(sizes2))]
    for path, size in zip(bulk, sizes2):
        l2.add_random(path, size, make)
    finish(l2, "bulk")

    # Layer 3: gzip -1 of more big random files (36%).
    l3 = LayerWriter(staging, "gzip")
    l3.add(D("var"))
    l3.add(D("var/lib"))
    l3.add(D("var/lib/data"))
    sizes3 = big_sizes(total * 36 // 100)
    data = [f"var/lib/data/blob{k:02d}.bin" for k in range(len(sizes3))]
    for path, size in zip(data, sizes3):
        l3.add_random(path, size, make)
    finish(l3, "data")

    # Layer 4: the app, overwrites and whiteouts (the rest, ~10%: mostly the overwrite).
    l4 = LayerWriter(staging, "gzip")
    for d in ("app", "app/bin", "etc", "srv", "srv/models", "var", "var/lib", "var/lib/data",
              "usr", "usr/share", "opt", "opt/cache"):
        l4.add(D(d))
    l4.add(F("app/bin/server", "#!/bin/sh\necho benchmark image\n", 0o755))
    l4.add(F("etc/motd", "from layer 4\n"))                          # overwrite (layer 1)
    l4.add_random(bulk[0], max(MIB, total * 9 // 100), make)            # overwrite (layer 2)
    if len(data) > 1:
        l4.add(WH(data[-1]))                                        # whiteout (layer 3)
    gone_dir = "usr/share/pkg001"
    l4.add(WH(gone_dir))                                            # whiteout of a directory
    # Overwrites of every 97th small file of layer 1 (those not under the whited-out dir).
    over = [p for p in small_paths[::97] if not p.startswith(gone_dir + "/")]
    seen4 = {"usr", "usr/share"}
    for p in over:
        parents(p, seen4, l4)
        l4.add(F(p, small_content(rng, 2048)))
    l4.add(OPQ("opt/cache"))                                        # opaque: hides stale.bin
    l4.add(F("opt/cache/fresh.txt", "only this survives in opt/cache\n"))
    finish(l4, "app")
    return write_image(layout_dir, staging, layers, diff_ids, stats)


def generate_small_files(layout_dir, staging, count, seed=1):
    """A one-layer image (gzip -1) of `count` files of 1-8 KiB, 100 to a directory, each half
    text, half bytes of a seeded generator: the same image every run."""
    rng = random.Random(seed)
    os.makedirs(staging)
    layer = LayerWriter(staging, "gzip")
    seen = set()
    for i in range(count):
        path = f"usr/lib/pkg{i // 10000:02d}/mod{(i // 100) % 100:02d}/file{i:06d}.py"
        parents(path, seen, layer)
        size = rng.randrange(1024, 8 * 1024 + 1)
        text = b" ".join(rng.choice(WORDS) for _ in range(size // 16 + 1))[: size // 2]
        layer.add(F(path, text + rng.randbytes(size - len(text))))
    layer.add(D("app"))
    layer.add(F("app/server", "#!/bin/sh\necho benchmark image\n", 0o755))
    desc, diff = layer.close(staging)
    stats = [("files", "gzip", layer.files, layer.diff_size, desc["size"])]
    return write_image(layout_dir, staging, [desc], [diff], stats)


def write_image(layout_dir, staging, layers, diff_ids, stats):
    """Writes the layout around the layer blobs in `staging`; returns the report's facts."""
    blobs_dir = staging
    config = {"Entrypoint": ["/app/server" if len(layers) == 1 else "/app/bin/server"],
              "Cmd": ["--serve"],
              "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
              "WorkingDir": "/app"}
    cfg = {"created": CREATED, "architecture": "amd64", "os": "linux", "config": config,
           "rootfs": {"type": "layers", "diff_ids": diff_ids},
           "history": [{"created": CREATED, "created_by": f"bench_build.py layer {k + 1}"}
                       for k in range(len(layers))]}
    lay = Layout()
    man = {"schemaVersion": 2, "mediaType": OCI["manifest"],
           "config": lay.blob(jbytes(cfg), OCI["config"]), "layers": layers}
    lay.tag(lay.blob(jbytes(man), OCI["manifest"],
                     platform={"architecture": "amd64", "os": "linux"}))
    lay.write(layout_dir)
    for d in layers:
        os.rename(os.path.join(blobs_dir, d["digest"][7:]),
                  os.path.join(layout_dir, "blobs", "sha256", d["digest"][7:]))
    os.rmdir(staging)
    return {"layers": stats, "uncompressed": sum(s[3] for s in stats),
            "blobs": sum(s[4] for s in stats), "files": sum(s[2] for s in stats)}


# ---------------------------------------------------------------- kernel bundle
def kernel_bundle(path):
    """bzImage + bzImage.config from the host's Debian cloud kernel."""
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels:
        sys.exit("no /boot/vmlinuz-*-cloud-amd64 to use as bzImage")
    version = os.path.basename(kernels[-1])[len("vmlinuz-"):]
    config = f"/boot/config-{version}"
    os.makedirs(path)
    shutil.copyfile(kernels[-1], os.path.join(path, "bzImage"))
    if os.path.exists(config):
        shutil.copyfile(config, os.path.join(path, "bzImage.config"))
    return version


def layer_blobs(layout):
    """Paths of the image's layer blobs, in the manifest's order."""
    def blob(digest):
        return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])
    with open(os.path.join(layout, "index.json")) as f:
        manifest = json.load(open(blob(json.load(f)["manifests"][0]["digest"])))
    return [blob(d["digest"]) for d in manifest["layers"]]


class LocalRegistry:
    """Debian's docker-registry on 127.0.0.1 holding the layout as bench/image:latest, pushed by
    skopeo with the same digests: what a cold build downloads from."""

    def __init__(self, work, layout):
        for tool in ("docker-registry", "skopeo"):
            if not shutil.which(tool):
                sys.exit(f"{tool} not found (apt-get install docker-registry skopeo), or --no-cold")
        self.host = "127.0.0.1:%d" % free_port()
        config = os.path.join(work, "registry.yml")
        with open(config, "w") as f:
            f.write("version: 0.1\nlog: {level: warn}\n"
                    "storage: {filesystem: {rootdirectory: %s}}\n"
                    "http: {addr: %s, secret: bench}\n" % (os.path.join(work, "registry"), self.host))
        self.proc = start_process(["docker-registry", "serve", config],
                                  os.path.join(work, "registry.log"))
        if not wait_http("http://%s/v2/" % self.host):
            self.stop()
            sys.exit("docker-registry did not start: see " + os.path.join(work, "registry.log"))
        self.image = self.host + "/bench/image:latest"
        subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--preserve-digests",
                        "oci:%s:latest" % layout, "docker://" + self.image], check=True,
                       timeout=600)

    def stop(self):
        stop_process(self.proc)


class PacedLink:
    """A TCP relay on 127.0.0.1 to `target` ("host:port") that passes the bytes coming back at
    `mbps` MB/s in all connections together, as one network link would; stopped by stop()."""

    def __init__(self, target, mbps):
        self.target_port, self.rate = int(target.rsplit(":", 1)[1]), mbps * 1e6
        self.host = "127.0.0.1:%d" % free_port()
        self.sent, self.start = 0, None
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            sys.exit("the paced link did not start")

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        port = int(self.host.rsplit(":", 1)[1])
        server = self.loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", port))
        ready.set()
        self.loop.run_forever()
        server.close()

    async def _relay(self, client_r, client_w):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(client_r, server_w, False),
                             self._pipe(server_r, client_w, True))

    async def _pipe(self, reader, writer, paced):
        try:
            while data := await reader.read(1 << 16):
                if paced:
                    await self._pace(len(data))
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _pace(self, n):
        now = time.monotonic()
        if self.start is None or now - self.start > self.sent / self.rate + 1:
            self.start, self.sent = now, 0  # idle for a second: the link starts afresh
        self.sent += n
        ahead = self.sent / self.rate - (now - self.start)
        if ahead > 0:
            await asyncio.sleep(ahead)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def cold_builds(args, work, layout, kb, reset, link_mbps=None):
    """`oci2eif build` from a local registry with an empty blob cache, --runs times; through a
    PacedLink of `link_mbps` MB/s if given."""
    registry = LocalRegistry(work, layout)
    link = PacedLink(registry.host, link_mbps) if link_mbps else None
    host = link.host if link else registry.host
    try:
        cache, scratch = os.path.join(work, "cache"), os.path.join(work, "scratch")
        eif = os.path.join(work, "cold.eif")
        cmd = [args.oci2eif, "build", "--image", host + "/bench/image:latest",
               "--insecure-registry", host, "--cache-dir", cache, "--kernel-dir", kb, "--scratch-dir", scratch,
               "--output", eif, "--progress", "none"]
        runs = []
        for _ in range(args.runs):
            reset(eif, scratch, cache)
            runs.append(measure(cmd))
        reset(eif, scratch, cache)
        return runs
    finally:
        if link:
            link.stop()
        registry.stop()
        reset(os.path.join(work, "registry"))


def best(runs):
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oci2eif", default=os.path.join(ROOT, "build", "cli", "oci2eif"))
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--umoci-raw", action="store_true",
                    help="baseline with `umoci raw unpack` (no bundle config, no mtree)")
    ap.add_argument("--bulk", choices=("gzip", "tar"), default="gzip",
                    help="how layer 2 (the large random files) is stored")
    ap.add_argument("--content", choices=("text", "random"), default="text",
                    help="what the large files hold")
    ap.add_argument("--small-files", type=int, metavar="N",
                    help="instead, an image of N files of 1-8 KiB in one layer")
    ap.add_argument("--link-mbps", type=float, metavar="R",
                    help="also a cold build through a relay pacing the registry's bytes at R MB/s")
    ap.add_argument("--no-cold", action="store_true",
                    help="skip the cold build (needs docker-registry and skopeo)")
    args = ap.parse_args()
    for tool in ("/usr/bin/time", "umoci", "cpio", "sha384sum"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install time umoci cpio)")
    if not os.access(args.oci2eif, os.X_OK):
        sys.exit(f"{args.oci2eif} not found: build it first")

    # SIGTERM/SIGHUP unwind like Ctrl-C so the temp dir below is removed.
    def stop(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)

    with tempfile.TemporaryDirectory(prefix="oci2eif-bench-build-", dir="/tmp") as work:
        layout = os.path.join(work, "image")
        started = time.monotonic()
        staging = os.path.join(work, "staging")
        facts = (generate_small_files(layout, staging, args.small_files) if args.small_files
                 else generate(layout, staging, args.size_mib, args.bulk, args.content))
        gen_s = time.monotonic() - started
        kb = os.path.join(work, "kernel")
        kver = kernel_bundle(kb)
        size_mb = facts["uncompressed"] / 1e6

        print(f"image: {len(facts['layers'])} layers, {facts['files']} files, "
              f"{size_mb:.0f} MB uncompressed, {facts['blobs'] / 1e6:.0f} MB of blobs; "
              f"generated in {gen_s:.1f} s (not counted)")
        for name, how, files, usize, csize in facts["layers"]:
            print(f"  {name:5s} {how:5s} {files:6d} files {usize / 1e6:8.1f} MB -> "
                  f"{csize / 1e6:8.1f} MB")
        print(f"kernel: {kver}; {args.runs} runs each, best time and highest peak RSS shown")
        # Warm the page cache with the blobs so the first timed command is not penalised.
        subprocess.run(["cat"] + glob.glob(os.path.join(layout, "blobs", "sha256", "*")),
                       check=True, stdout=subprocess.DEVNULL)

        ref = layout + ":latest"
        eif = os.path.join(work, "out.eif")
        bundle = os.path.join(work, "bundle")
        cpio = os.path.join(work, "out.cpio")
        scratch = os.path.join(work, "scratch")   # oci2eif's spool, inside our temp dir
        build_cmd = [args.oci2eif, "build", "--oci-layout", ref, "--kernel-dir", kb,
                     "--scratch-dir", scratch, "--output", eif]
        rootfs_cmd = [args.oci2eif, "rootfs", "--oci-layout", ref, "--scratch-dir", scratch]
        unpack_cmd = (["umoci", "raw", "unpack", "--image", ref, os.path.join(bundle, "rootfs")]
                      if args.umoci_raw else ["umoci", "unpack", "--image", ref, bundle])
        cpio_cmd = ["sh", "-c", "find . | LC_ALL=C sort | cpio -o -H newc --quiet > " + cpio]
        zcat_cmd = ["sh", "-c", "zcat -f " + " ".join(map(shlex.quote, layer_blobs(layout))) +
                    " > /dev/null"]

        def reset(*paths):
            for p in paths:
                if os.path.isdir(p):
                    shutil.rmtree(p)
                elif os.path.exists(p):
                    os.remove(p)

        build, rootfs, unpack, mkcpio, total, floor = [], [], [], [], [], []
        for _ in range(args.runs):
            reset(eif, scratch)
            build.append(measure(build_cmd))
        eif_size = os.path.getsize(eif)
        reset(eif)
        cold = [] if args.no_cold else cold_builds(args, work, layout, kb, reset)
        paced = (cold_builds(args, work, layout, kb, reset, args.link_mbps)
                 if args.link_mbps and not args.no_cold else [])
        zcat = [measure(zcat_cmd) for _ in range(args.runs)]
        for _ in range(args.runs):
            reset(scratch)
            rootfs.append(measure(rootfs_cmd))
        for _ in range(args.runs):
            reset(bundle, cpio)
            if args.umoci_raw:
                os.makedirs(bundle)
            u = measure(unpack_cmd)
            c = measure(cpio_cmd, cwd=os.path.join(bundle, "rootfs"))
            unpack.append(u)
            mkcpio.append(c)
            total.append((u[0] + c[0], max(u[1], c[1])))
        reset(bundle)
        cpio_size = os.path.getsize(cpio)
        for _ in range(args.runs):
            floor.append(measure(["sha384sum", cpio]))

        umoci_name = "umoci raw unpack" if args.umoci_raw else "umoci unpack"
        rows = [("oci2eif build (warm)", best(build))]
        if cold:
            rows.append(("oci2eif build (cold)", best(cold)))
        if paced:
            rows.append((f"  cold, {args.link_mbps:g} MB/s link", best(paced)))
        rows += [("zcat -f of the layers", best(zcat)),
                ("oci2eif rootfs (flatten)", best(rootfs)),
                (f"{umoci_name} + cpio", best(total)),
                (f"  {umoci_name}", best(unpack)),
                ("  find|sort|cpio", best(mkcpio)),
                ("sha384sum cpio (floor)", best(floor))]
        print()
        print(f"{'':26s} {'seconds':>8s} {'MB/s':>8s} {'peak RSS MiB':>13s}")
        for name, (s, rss) in rows:
            mbs = f"{size_mb / s:8.1f}" if s > 0 else f"{'-':>8s}"
            print(f"{name:26s} {s:8.2f} {mbs} {rss:13.1f}")
        print()
        b, base = best(build)[0], best(total)[0]
        print(f"oci2eif build / zcat: warm {b / best(zcat)[0]:.2f}x"
              + (f", cold {best(cold)[0] / best(zcat)[0]:.2f}x" if cold else "")
              + " the time (issue 11's goals: 0.7x warm, 0.9x cold)")
        if paced:
            link_s = facts["blobs"] / (args.link_mbps * 1e6)
            print(f"cold over the {args.link_mbps:g} MB/s link: {best(paced)[0]:.2f} s; the link "
                  f"alone takes {link_s:.2f} s for the blobs, the warm build {b:.2f} s")
        print(f"oci2eif build / ({umoci_name} + cpio): {b / base:.2f}x the time "
              f"(baseline best run = best of the summed steps)")
        print(f"oci2eif build / sha384sum over the cpio: {b / best(floor)[0]:.2f}x the time")
        print(f"EIF size {eif_size / 1e6:.1f} MB ({eif_size} bytes); "
              f"cpio size {cpio_size / 1e6:.1f} MB ({cpio_size} bytes)")


if __name__ == "__main__":
    main()
