#!/usr/bin/env python3
"""Write oci2eif's deterministic test images.

  make_images.py OUTDIR [--busybox /bin/busybox] [--busybox-arm64 PATH]

For each image, OUTDIR/<name>/ is an OCI image layout tagged `latest` (index.json's
org.opencontainers.image.ref.name). Some images also get OUTDIR/<name>.oci.tar (an oci-archive:
a tar of the layout) and OUTDIR/<name>.docker.tar (a `docker save` archive). OUTDIR/hostile/
holds single hostile layer tars and their README.json. OUTDIR/manifest.json lists every image
with its digests and the facts (`expect`) a test can assert on the flattened tree.

With --busybox-arm64 (a static arm64 busybox, scripts/fetch-arm64-parts.sh), also
`busybox-arm64`: the busybox image for linux/arm64/v8, same layers and config, so the same run
output is expected from it on an aarch64 enclave.

Running it twice gives byte-identical output whatever the TZ, umask or cwd: see imagelib.py.
Python stdlib only; the `zstd` CLI for the zstd image. OUTDIR must be empty or absent.
"""
import argparse
import os
import sys

import hostile_layers
from imagelib import (BLK, CHR, CREATED, DOCKER, FIFO, OCI, OPQ, WH, D, F, H, Layout, S,
                      build_image, compress, docker_save_archive, jbytes, jpretty, make_tar, sha)

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REPO = "oci2eif-test/"

# ---------------------------------------------------------------- busybox
APPLETS = ["sh", "echo", "cat", "id", "pwd", "env", "ls", "test", "["]
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/work:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\n"
GONE = "this file is deleted by layer 2"
ORIGINAL = "hardlink content\n"
RUN_SH = """#!/bin/sh
# oci2eif test app: prints what the image config and the flattened tree gave it.
args=""
for a in "$@"; do args="$args [$a]"; done
echo "argv:$args"
echo "greeting: $GREETING"
echo "pwd: $(pwd)"
echo "uid: $(id -u) gid: $(id -g)"
echo "hardlink: $(cat /data/link.txt)"
if [ -e /etc/gone.txt ]; then echo "gone: present"; else echo "gone: absent"; fi
exit 3
"""
BUSYBOX_CONFIG = {
    "Entrypoint": ["/app/run.sh"],
    "Cmd": ["hello world", "second"],
    "Env": [PATH_ENV, "GREETING=hi from oci2eif"],
    "WorkingDir": "/work",
    "User": "app",
}
BUSYBOX_EXPECT = {
    "present": {
        "bin/busybox": {"type": "file", "mode": "0755", "owner": "0:0"},
        "bin/sh": {"type": "symlink", "target": "busybox"},
        "app/run.sh": {"type": "file", "mode": "0755", "content": RUN_SH},
        "data/original.txt": {"type": "file", "content": ORIGINAL},
        "data/link.txt": {"type": "file", "content": ORIGINAL},
        "etc/passwd": {"type": "file", "content": PASSWD},
        "work": {"type": "dir", "mode": "0755", "owner": "1000:1000"},
        "tmp": {"type": "dir", "mode": "1777"},
    },
    "absent": ["etc/gone.txt", "etc/.wh.gone.txt"],
    "run": {"console": ["argv: [hello world] [second]", "greeting: hi from oci2eif",
                        "pwd: /work", "uid: 1000 gid: 1000", "hardlink: hardlink content",
                        "gone: absent"],
            "exit_code": 3},
}


def busybox_base(binary, applets=APPLETS, passwd=PASSWD):
    ents = [D("bin"), F("bin/busybox", binary, 0o755)]
    ents += [S("bin/" + a, "busybox") for a in applets]
    ents += [D("etc"), F("etc/passwd", passwd), F("etc/group", GROUP), F("etc/gone.txt", GONE),
             D("data"), F("data/original.txt", ORIGINAL), D("tmp", 0o1777)]
    return ents


def busybox_app_layer():
    # A tar hardlink can only name an entry of its own layer (that is what docker writes), so
    # the target is repeated here before the link.
    return [D("app"), F("app/run.sh", RUN_SH, 0o755),
            D("data"), F("data/original.txt", ORIGINAL), H("data/link.txt", "data/original.txt"),
            D("etc"), WH("etc/gone.txt"),
            D("work", 0o755, 1000, 1000)]


# What `podman run` shows for this image (podman 4.3+, runc/crun): the command's two lines,
# groups = the passwd gid plus the /etc/group membership (the kernel lists them sorted), HOME
# from /etc/passwd, and the WORKDIR the layers lack, created at start.
DOCKER_RUN_SCRIPT = ('echo "line one"\necho "line two"; grep Groups /proc/self/status; '
                     'echo "home: $HOME"; echo "pwd: $(pwd)"')
DOCKER_RUN_CONFIG = {"Cmd": ["/bin/sh", "-c", DOCKER_RUN_SCRIPT], "Env": [PATH_ENV],
                     "WorkingDir": "/srv/app", "User": "app"}
DOCKER_RUN_GROUP = "root:x:0:\napp:x:1000:\nstaff:x:50:app\n"
DOCKER_RUN_EXPECT = {
    "present": {"etc/group": {"type": "file", "content": DOCKER_RUN_GROUP}},
    "absent": ["srv"],
    "run": {"console": ["line one", "line two", "Groups:\t50 1000", "home: /work",
                        "pwd: /srv/app"],
            "exit_code": 0},
}


def docker_run_layers(binary):
    """busybox (with grep) whose app user is also in group staff, and no /srv."""
    return [(busybox_base(binary, APPLETS + ["grep"]), "gzip"),
            ([D("etc"), F("etc/group", DOCKER_RUN_GROUP)], "gzip")]


def busybox_relayered(binary):
    """Same final tree as busybox_base + busybox_app_layer, reached another way."""
    l1 = [D("bin"), F("bin/busybox", binary, 0o755), S("bin/sh", "busybox"),
          S("bin/echo", "busybox"),
          D("etc"), F("etc/passwd", "root:x:0:0:placeholder:/:/bin/sh\n"), F("etc/gone.txt", GONE),
          D("app"), F("app/run.sh", "#!/bin/sh\necho placeholder\n", 0o644),
          D("work", 0o700)]
    l2 = [D("bin")] + [S("bin/" + a, "busybox") for a in APPLETS[2:]] + [
          D("etc"), WH("etc/gone.txt"), F("etc/group", GROUP), F("etc/passwd", PASSWD),
          F("etc/scratch", "removed again by layer 3\n"),
          D("data"), F("data/original.txt", ORIGINAL), H("data/link.txt", "data/original.txt"),
          D("tmp", 0o1777)]
    l3 = [D("app"), F("app/run.sh", RUN_SH, 0o755), D("etc"), WH("etc/scratch"),
          D("work", 0o755, 1000, 1000)]
    return [(l1, "gzip"), (l2, "gzip"), (l3, "gzip")]


# ---------------------------------------------------------------- whiteout
WHITEOUT_LAYERS = [
    ([D("etc"), F("etc/config.txt", "v1\n"),
      D("a"), F("a/keep.txt", "keep\n"), F("a/gone.txt", "gone\n"),
      D("b"), D("b/sub"), F("b/sub/deep.txt", "deep\n"),
      D("opq"), F("opq/old.txt", "old\n"), D("opq/oldsub"), F("opq/oldsub/old2.txt", "old2\n"),
      F("opq/kept-by-upper.txt", "lower\n"),
      F("c", "c is a file in layer 1\n"),
      D("d"), F("d/x.txt", "x\n"),
      D("e"), D("e/f"), F("e/f/g.txt", "g\n")], "gzip"),
    ([D("etc"), F("etc/config.txt", "v2\n"),
      D("a"), WH("a/gone.txt"),
      WH("b"),
      # Siblings first, opaque marker last: the marker still only hides the lower layers.
      D("opq", 0o750), F("opq/new.txt", "new\n"), D("opq/newdir"), F("opq/newdir/n.txt", "n\n"),
      F("opq/kept-by-upper.txt", "upper\n"), OPQ("opq"),
      D("c"), F("c/inside.txt", "c is a directory in layer 2\n"),   # file -> dir
      F("d", "d is a file in layer 2\n")], "gzip"),                    # dir -> file
    ([D("b"), F("b/new.txt", "b re-created in layer 3\n"),            # whited-out dir returns
      WH("e"),                                                         # nested dir, whole
      D("fresh"), OPQ("fresh"), F("fresh/x.txt", "opaque over nothing\n")], "gzip"),
]
WHITEOUT_EXPECT = {
    "present": {
        "a/keep.txt": {"type": "file", "content": "keep\n"},
        "b": {"type": "dir"}, "b/new.txt": {"type": "file", "content": "b re-created in layer 3\n"},
        "c": {"type": "dir"}, "c/inside.txt": {"type": "file"},
        "d": {"type": "file", "content": "d is a file in layer 2\n"},
        "etc/config.txt": {"type": "file", "content": "v2\n"},
        "fresh/x.txt": {"type": "file"},
        "opq": {"type": "dir", "mode": "0750"},
        "opq/new.txt": {"type": "file", "content": "new\n"},
        "opq/newdir/n.txt": {"type": "file"},
        "opq/kept-by-upper.txt": {"type": "file", "content": "upper\n"},
    },
    "absent": ["a/gone.txt", "b/sub", "b/sub/deep.txt", "d/x.txt", "e", "e/f/g.txt",
               "opq/old.txt", "opq/oldsub", "opq/.wh..wh..opq", "fresh/.wh..wh..opq",
               "a/.wh.gone.txt", ".wh.b", ".wh.e"],
}

# ---------------------------------------------------------------- hardlinks
HARDLINK_LAYERS = [
    ([D("h"), F("h/target1.txt", "target1: removed by layer 2\n"), H("h/link1", "h/target1.txt"),
      F("h/target2.txt", "target2: old content\n"), H("h/link2", "h/target2.txt"),
      F("h/a", "chain\n"), H("h/b", "h/a"), H("h/c", "h/b"),               # link to a link
      F("h/private", "mode and owner travel with the inode\n", 0o600, 1000, 1000),
      H("h/private-link", "h/private", 0o600, 1000, 1000),
      D("other"), H("other/cross-dir", "h/a")], "gzip"),
    ([D("h"), WH("h/target1.txt"),                                        # ggcr #977
      F("h/target2.txt", "target2: new content\n")], "gzip"),             # ggcr #2002
]
HARDLINK_EXPECT = {
    "present": {
        "h/link1": {"type": "file", "content": "target1: removed by layer 2\n"},
        "h/target2.txt": {"type": "file", "content": "target2: new content\n"},
        "h/link2": {"type": "file", "content": "target2: old content\n"},
        "h/a": {"type": "file", "content": "chain\n"}, "h/b": {"type": "file", "content": "chain\n"},
        "h/c": {"type": "file", "content": "chain\n"},
        "other/cross-dir": {"type": "file", "content": "chain\n"},
        "h/private-link": {"type": "file", "mode": "0600", "owner": "1000:1000"},
    },
    "absent": ["h/target1.txt", "h/.wh.target1.txt"],
}

# ---------------------------------------------------------------- special
LONG100 = "long/" + "a" * 60 + "/" + "b" * 60 + ".txt"
LONG255_DIRS = ["long"] + ["long/" + "/".join(["c" * 50] * i) for i in range(1, 6)]
LONG255 = LONG255_DIRS[-1] + "/file-past-255-bytes.txt"
LONG_TARGET = "/" + "t" * 150 + "/target"
assert len(LONG100.encode()) > 100 and len(LONG255.encode()) > 255
SPECIAL_LAYERS = [
    ([D("dev"), CHR("dev/null", 1, 3), CHR("dev/zero", 1, 5), BLK("dev/loop7", 7, 7),
      D("run"), FIFO("run/fifo"),
      D("bin"), F("bin/setuid", "#!/bin/sh\n", 0o4755), F("bin/setgid", "#!/bin/sh\n", 0o2755),
      D("shared", 0o2775), D("tmp", 0o1777), D("sticky-all", 0o7755),
      F("odd-owner", "owned by 12345:54321\n", 0o640, 12345, 54321),
      ] + [D(d) for d in LONG255_DIRS] + [
      D("long/" + "a" * 60), F(LONG100, "path longer than 100 bytes\n"),
      F(LONG255, "path longer than 255 bytes\n"),
      D("données"), F("données/ü.txt", "utf-8 name\n"),
      F("xattr.txt", "has a user xattr\n", xattrs={"user.test": "hello"}),
      F("empty"), D("emptydir", 0o700),
      D("links"), S("links/abs", "/etc/hostname"), S("links/rel", "../bin/setuid"),
      S("links/dangling", "/nonexistent"), S("links/dir", "../données"),
      S("links/long-target", LONG_TARGET)], "tar"),
    ([D("etc"), F("etc/hostname", "special\n")], "gzip"),
]
SPECIAL_EXPECT = {
    "present": {
        "dev/null": {"type": "char", "mode": "0666", "target": "1,3"},
        "dev/loop7": {"type": "block", "mode": "0660", "target": "7,7"},
        "run/fifo": {"type": "fifo", "mode": "0644"},
        "bin/setuid": {"type": "file", "mode": "4755"},
        "bin/setgid": {"type": "file", "mode": "2755"},
        "shared": {"type": "dir", "mode": "2775"}, "tmp": {"type": "dir", "mode": "1777"},
        "sticky-all": {"type": "dir", "mode": "7755"},
        "odd-owner": {"type": "file", "mode": "0640", "owner": "12345:54321"},
        LONG100: {"type": "file", "content": "path longer than 100 bytes\n"},
        LONG255: {"type": "file", "content": "path longer than 255 bytes\n"},
        "données/ü.txt": {"type": "file", "content": "utf-8 name\n"},
        "xattr.txt": {"type": "file", "xattrs": {"user.test": "hello"}},
        "empty": {"type": "file", "size": 0}, "emptydir": {"type": "dir", "mode": "0700"},
        "links/abs": {"type": "symlink", "target": "/etc/hostname"},
        "links/rel": {"type": "symlink", "target": "../bin/setuid"},
        "links/dangling": {"type": "symlink", "target": "/nonexistent"},
        "links/long-target": {"type": "symlink", "target": LONG_TARGET},
        "etc/hostname": {"type": "file", "content": "special\n"},
    },
    "absent": [],
}


# ---------------------------------------------------------------- assembly
class Out:
    """Collects the files and the manifest.json records for OUTDIR."""

    def __init__(self, outdir):
        self.dir, self.images = outdir, {}

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_file(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)

    def add(self, name, lay, builts, description, expect, *, index_desc=None, oci_tar=False,
            docker_tar=False, umoci=None):
        lay.write(self.path(name))
        rec = {"name": name, "layout": name, "tag": "latest", "description": description, "expect": expect,
               "platforms": [platform_record(b) for b in builts]}
        if index_desc:
            rec["index_digest"] = index_desc["digest"]
        if oci_tar:
            rec["oci_archive"] = name + ".oci.tar"
            self.write_file(rec["oci_archive"], lay.archive())
        if docker_tar:
            rec["docker_archive"] = name + ".docker.tar"
            rec["docker_repo_tag"] = REPO + name + ":latest"
            self.write_file(rec["docker_archive"], docker_save_archive(builts[0], rec["docker_repo_tag"]))
        rec["umoci"] = umoci or {"unpack": "ok"}
        self.images[name] = rec


def platform_record(b):
    return {"platform": b.desc["platform"], "manifest_digest": b.desc["digest"],
            "manifest_media_type": b.desc["mediaType"], "manifest_size": b.desc["size"],
            "config_digest": b.manifest["config"]["digest"],
            "config_media_type": b.manifest["config"]["mediaType"],
            "layers": b.layers}


def single(lay, b):
    lay.tag({k: v for k, v in b.desc.items() if k != "platform"})


def simple_image(out, name, layers, config, description, expect, **kw):
    lay = Layout()
    b = build_image(lay, layers, config)
    single(lay, b)
    out.add(name, lay, [b], description, expect, **kw)
    return b


def same_length_gzip(real_raw, entries_of):
    """A layer tar that differs from `real_raw` but compresses to the same number of bytes."""
    want = len(compress(real_raw, "gzip"))
    for i in range(1000):
        fake = make_tar(entries_of(f"tampered {i:03d}\n"))
        if len(compress(fake, "gzip")) == want:
            return compress(fake, "gzip")
    raise SystemExit("could not build a same-size tampered blob")


def bad_images(out):
    cfg = {"Cmd": ["/bin/sh"], "Env": [PATH_ENV], "WorkingDir": "/"}
    ents = lambda text: [D("etc"), F("etc/motd", text)]
    # bad-digest: the blob stored under the layer's digest holds other (same-size) bytes.
    lay = Layout()
    b = build_image(lay, [(ents("original 000\n"), "gzip")], cfg)
    single(lay, b)
    layer = b.layers[0]["digest"]
    lay.files["blobs/sha256/" + layer[7:]] = same_length_gzip(b.raw_layers[0], ents)
    out.add("bad-digest", lay, [b], "layer blob content does not match its digest (same size)",
            {"error": {"kind": "digest mismatch", "blob": layer}},
            umoci={"unpack": "fails", "error_contains": "digest mismatch",
                   "why": "umoci verifies the blob digest (after streaming the layer)"})
    # bad-diffid: every blob is intact, the config's diff_id is not the uncompressed layer's.
    lay = Layout()
    wrong = sha(b"not the layer")
    b = build_image(lay, [(ents("diff id check\n"), "gzip")], cfg,
                    edit_config=lambda c: c["rootfs"]["diff_ids"].__setitem__(0, wrong))
    single(lay, b)
    layer_desc = b.layers[0]
    out.add("bad-diffid", lay, [b], "config rootfs.diff_ids[0] is not the sha256 of the layer tar",
            {"error": {"kind": "diff_id mismatch", "layer": layer_desc["digest"],
                       "declared": wrong, "actual": layer_desc["diff_id"]}},
            umoci={"unpack": "fails", "error_contains": "diffid mismatch",
                   "why": "umoci checks diff_ids while unpacking"})


def multiarch(out, bb_base):
    cfg = {"Cmd": ["/bin/cat", "/etc/arch"], "Env": [PATH_ENV], "WorkingDir": "/"}
    shared = [D("etc"), F("etc/os-release", "NAME=oci2eif-test\n")]
    lay = Layout()
    amd = build_image(lay, [(bb_base, "gzip"), (shared, "gzip"),
                            ([D("etc"), F("etc/arch", "amd64\n")], "gzip")], cfg)
    arm = build_image(lay, [(shared, "gzip"), ([D("etc"), F("etc/arch", "arm64\n")], "gzip")],
                      cfg, arch="arm64", variant="v8")
    idx = {"schemaVersion": 2, "mediaType": OCI["index"], "manifests": [amd.desc, arm.desc]}
    idx_desc = lay.blob(jbytes(idx), OCI["index"])
    lay.tag(idx_desc)
    expect = {"per_platform": {
        "linux/amd64": {"present": {"etc/arch": {"type": "file", "content": "amd64\n"},
                                    "bin/busybox": {"type": "file"}}, "absent": []},
        "linux/arm64/v8": {"present": {"etc/arch": {"type": "file", "content": "arm64\n"}},
                           "absent": ["bin/busybox"]}}}
    out.add("multiarch", lay, [amd, arm], "OCI image index: linux/amd64 and linux/arm64/v8",
            expect, index_desc=idx_desc, oci_tar=True,
            umoci={"unpack": "fails", "error_contains": "tag is ambiguous",
                   "why": "umoci 0.4.7 has no --platform and refuses a tag that resolves to "
                   "several manifests",
                   "reference_layouts": {"linux/amd64": "multiarch-amd64",
                                         "linux/arm64/v8": "multiarch-arm64"}})
    # Single-manifest views of the same blobs so umoci can unpack each platform.
    for b, name, key in ((amd, "multiarch-amd64", "linux/amd64"), (arm, "multiarch-arm64", "linux/arm64/v8")):
        one = Layout()
        one.files.update({k: v for k, v in lay.files.items() if k.startswith("blobs/")})
        single(one, b)
        out.add(name, one, [b], f"the {key} manifest of multiarch, tagged alone "
                "(all of multiarch's blobs are kept)", expect["per_platform"][key])


def busybox_arm64(out, path):
    with open(path, "rb") as f:
        binary = f.read()
    lay = Layout()
    b = build_image(lay, [(busybox_base(binary), "gzip"), (busybox_app_layer(), "gzip")],
                    BUSYBOX_CONFIG, arch="arm64", variant="v8")
    single(lay, b)
    out.add("busybox-arm64", lay, [b], "busybox for linux/arm64/v8: busybox's layers and config "
            "around an arm64 busybox", BUSYBOX_EXPECT)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--busybox", default="/bin/busybox", help="a static busybox binary")
    ap.add_argument("--busybox-arm64", help="a static arm64 busybox: adds the busybox-arm64 image")
    a = ap.parse_args()
    if os.path.exists(a.outdir) and os.listdir(a.outdir):
        sys.exit(f"make_images.py: {a.outdir} is not empty; give a new or empty directory")
    os.umask(0o022)  # file modes of the outputs themselves do not depend on the caller
    os.makedirs(a.outdir, exist_ok=True)
    with open(a.busybox, "rb") as f:
        binary = f.read()
    out = Out(a.outdir)
    base, app = busybox_base(binary), busybox_app_layer()

    simple_image(out, "busybox", [(base, "gzip"), (app, "gzip")], BUSYBOX_CONFIG,
                 "static busybox + /app/run.sh; layer 2 whites out etc/gone.txt and hardlinks "
                 "data/link.txt", BUSYBOX_EXPECT, oci_tar=True, docker_tar=True)
    simple_image(out, "busybox-relayered", busybox_relayered(binary), BUSYBOX_CONFIG,
                 "busybox's final tree and config, split into 3 other layers",
                 {**BUSYBOX_EXPECT, "same_tree_as": "busybox"})
    simple_image(out, "docker-run", docker_run_layers(binary), DOCKER_RUN_CONFIG,
                 "USER app with a supplementary group, a WORKDIR absent from the layers, a "
                 "command with a line break, no HOME in Env", DOCKER_RUN_EXPECT)
    simple_image(out, "whiteout", WHITEOUT_LAYERS, {"Cmd": ["/bin/sh"], "Env": [PATH_ENV], "WorkingDir": "/"},
                 "file/dir whiteouts, opaque dir with its marker after siblings, file<->dir "
                 "replacement, re-created dir", WHITEOUT_EXPECT, docker_tar=True)
    simple_image(out, "hardlinks", HARDLINK_LAYERS, {"Cmd": ["/bin/sh"], "Env": [PATH_ENV], "WorkingDir": "/"},
                 "hardlinks; a link whose target is whited out and one whose target is replaced "
                 "(go-containerregistry #977/#2002)", HARDLINK_EXPECT)
    simple_image(out, "special", SPECIAL_LAYERS, {"Cmd": ["/bin/sh"], "Env": [PATH_ENV], "WorkingDir": "/",
                                                  "User": "12345:54321"},
                 "devices, FIFO, setuid/setgid/sticky, odd owner, PAX long names and xattr, UTF-8, "
                 "symlinks, empty file; layer 1 uncompressed", SPECIAL_EXPECT)
    multiarch(out, base)

    lay = Layout()
    b = build_image(lay, [(base, "gzip"), (app, "gzip")], BUSYBOX_CONFIG, mt=DOCKER)
    single(lay, b)
    out.add("schema2", lay, [b], "busybox with Docker schema2 media types, in an OCI layout "
            "(same layer blobs as busybox)", {**BUSYBOX_EXPECT, "same_tree_as": "busybox"},
            umoci={"unpack": "fails", "error_contains": "not implemented: " + DOCKER["manifest"],
                   "why": "umoci 0.4.7 only reads OCI manifests",
                   "reference_layout": "busybox"})
    simple_image(out, "zstd", [(base, "zstd"), (app, "gzip")], BUSYBOX_CONFIG,
                 "busybox with layer 1 as tar+zstd", {**BUSYBOX_EXPECT, "same_tree_as": "busybox"},
                 umoci={"unpack": "fails", "error_contains": "not correct mediatype: " + OCI["zstd"],
                        "why": "umoci 0.4.7 has no zstd support",
                        "reference_layout": "busybox"})
    if a.busybox_arm64:
        busybox_arm64(out, a.busybox_arm64)
    bad_images(out)

    os.makedirs(out.path("hostile"))
    readme = hostile_layers.write_all(out.path("hostile"))
    out.write_file("manifest.json", jpretty({
        "created": CREATED, "generator": "tests/images/make_images.py",
        "images": out.images, "hostile": readme}))
    for name, rec in out.images.items():
        print(f"{name:18s} {rec['platforms'][0]['manifest_digest']}")


if __name__ == "__main__":
    main()
