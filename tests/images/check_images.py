#!/usr/bin/env python3
"""Checks on make_images.py's output, used by selftest.sh.

  check_images.py verify OUTDIR
      Every blob's sha256 equals its file name, every descriptor's size and digest match the
      blob, every config's diff_ids match the uncompressed layers, the oci/docker archives hold
      the same bytes as their layouts, and manifest.json agrees with the layouts. The deliberate
      breakage of bad-digest and bad-diffid must be present (and be the only one).
  check_images.py expect OUTDIR NAME LISTING
      Assert manifest.json's `expect` facts for image NAME against a rootfs listing
      (docs/rootfs-listing.md), e.g. one written by tests/e2e/umoci_reference.sh.

Prints one line per check, `ok <what>` or `FAIL <what>: <why>`; exits 1 if any failed.
"""
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile

INDEX_TYPES = {"application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json"}


class Checks:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what, why=""):
        print(f"ok {what}" if ok else f"FAIL {what}: {why}")
        self.failed += not ok
        return ok


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def decompress(data, media_type):
    if media_type.endswith("gzip"):
        return gzip.decompress(data)
    if media_type.endswith("zstd"):
        return subprocess.run(["zstd", "-d", "-q", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "rb") as f:
        return f.read()


def verify_layout(c, outdir, name, rec):
    layout = os.path.join(outdir, name)
    bad_blob = rec["expect"].get("error", {}).get("blob")
    bad_layer = rec["expect"].get("error", {}).get("layer")
    blobdir = os.path.join(layout, "blobs", "sha256")
    wrong = sorted(h for h in os.listdir(blobdir) if sha(read_blob(layout, "sha256:" + h)) != "sha256:" + h)
    c.check(wrong == ([bad_blob[7:]] if bad_blob else []), f"{name}: blob digests",
            f"blobs whose sha256 is not their name: {wrong}")

    with open(os.path.join(layout, "index.json"), "rb") as f:
        index = json.load(f)
    tags = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
    c.check(tags == ["latest"], f"{name}: index.json tags", f"tags {tags}")

    def desc_ok(d, where):
        data = read_blob(layout, d["digest"])
        c.check(len(data) == d["size"], f"{name}: size of {where}", f"{d['size']} declared, {len(data)} stored")
        return data

    manifests, platforms = [], {}
    for d in index["manifests"]:
        data = desc_ok(d, "index.json entry")
        if d["mediaType"] in INDEX_TYPES:
            for m in json.loads(data)["manifests"]:
                manifests.append((m, json.loads(desc_ok(m, "index entry"))))
        else:
            manifests.append((d, json.loads(data)))
    for d, man in manifests:
        cfg_bytes = desc_ok(man["config"], "config")
        cfg = json.loads(cfg_bytes)
        actual = []
        for i, layer in enumerate(man["layers"]):
            data = desc_ok(layer, f"layer {i}")
            if layer["digest"] == bad_blob:
                continue
            try:
                actual.append(sha(decompress(data, layer["mediaType"])))
            except Exception as e:  # corrupt compression: report it as a failed check
                c.check(False, f"{name}: decompress layer {i}", repr(e))
                actual.append(None)
        declared = cfg["rootfs"]["diff_ids"]
        if bad_layer:
            good = [x for x, l in zip(declared, man["layers"]) if l["digest"] != bad_layer]
            c.check(declared != actual and len(declared) == len(actual), f"{name}: diff_id is wrong on purpose",
                    f"declared {declared}, actual {actual}")
            declared = good
            actual = [x for x, l in zip(actual, man["layers"]) if l["digest"] != bad_layer]
        elif bad_blob:
            declared = [x for x, l in zip(declared, man["layers"]) if l["digest"] != bad_blob]
        c.check(declared == actual, f"{name}: diff_ids of {d['digest'][:19]}", f"declared {declared}, actual {actual}")
        platforms[d["digest"]] = {"config": man["config"]["digest"],
                                  "layers": [l["digest"] for l in man["layers"]]}

    recorded = {p["manifest_digest"]: {"config": p["config_digest"],
                                       "layers": [l["digest"] for l in p["layers"]]}
                for p in rec["platforms"]}
    c.check(recorded == platforms, f"{name}: manifest.json matches the layout",
            f"recorded {recorded}, layout {platforms}")
    verify_archives(c, outdir, name, rec, layout)


def tar_members(path):
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}


def verify_archives(c, outdir, name, rec, layout):
    if "oci_archive" in rec:
        files = {}
        for dp, _, fns in os.walk(layout):
            for fn in fns:
                full = os.path.join(dp, fn)
                with open(full, "rb") as f:
                    files[os.path.relpath(full, layout)] = f.read()
        c.check(tar_members(os.path.join(outdir, rec["oci_archive"])) == files,
                f"{name}: {rec['oci_archive']} holds the layout", "contents differ")
    if "docker_archive" in rec:
        mem = tar_members(os.path.join(outdir, rec["docker_archive"]))
        man = json.loads(mem["manifest.json"])
        p = rec["platforms"][0]
        ok = (len(man) == 1 and man[0]["RepoTags"] == [rec["docker_repo_tag"]]
              and sha(mem[man[0]["Config"]]) == p["config_digest"]
              and [sha(mem[l]) for l in man[0]["Layers"]] == [l["diff_id"] for l in p["layers"]])
        c.check(ok, f"{name}: {rec['docker_archive']} has the config and layer tars", json.dumps(man))


def diff_ids(rec, i=0):
    return [l["diff_id"] for l in rec["platforms"][i]["layers"]]


def verify_references(c, images, name, rec):
    """An image umoci cannot read names a layout with the same layer tars (same tree)."""
    u = rec["umoci"]
    if "reference_layout" in u:
        c.check(diff_ids(rec) == diff_ids(images[u["reference_layout"]]),
                f"{name}: same layer tars as its reference {u['reference_layout']}", "diff_ids differ")
    for i, p in enumerate(rec["platforms"]):
        key = "/".join(filter(None, [p["platform"]["os"], p["platform"]["architecture"],
                                     p["platform"].get("variant")]))
        ref = u.get("reference_layouts", {}).get(key)
        if ref:
            c.check(images[ref]["platforms"][0]["manifest_digest"] == p["manifest_digest"],
                    f"{name}: {key} manifest is {ref}'s", "manifest digests differ")


def verify(outdir):
    c = Checks()
    with open(os.path.join(outdir, "manifest.json")) as f:
        m = json.load(f)
    for name, rec in m["images"].items():
        verify_layout(c, outdir, name, rec)
        verify_references(c, m["images"], name, rec)
    for case, info in m["hostile"].items():
        names = hostile_names(os.path.join(outdir, info["file"]))
        first = info["path"].split(" ")[0].rstrip(";")
        c.check(first in names, f"hostile/{case}.tar holds {first}", f"members read: {names[:5]}")
    return c


def hostile_names(path):
    """Member names up to the point where Python's tarfile gives up (some cases are broken)."""
    names = []
    try:
        with tarfile.open(path) as tf:
            for m in tf:
                names.append(m.name)
    except (tarfile.TarError, OSError):
        pass
    return names


# ---------------------------------------------------------------- expect vs listing
def escape(s):
    return s.encode().replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")


def parse_listing(path):
    rows = {}
    with open(path, "rb") as f:
        for line in f:
            fields = line.rstrip(b"\n").split(b"\t")
            if len(fields) != 7:
                raise SystemExit(f"{path}: not a rootfs listing line: {line!r}")
            rows[fields[0]] = dict(zip(["type", "mode", "owner", "size", "sha256", "target"],
                                       (x.decode("utf-8", "surrogateescape") for x in fields[1:])))
    return rows


def expect(outdir, name, listing):
    c = Checks()
    with open(os.path.join(outdir, "manifest.json")) as f:
        exp = json.load(f)["images"][name]["expect"]
    rows = parse_listing(listing)
    for path, want in sorted(exp.get("present", {}).items()):
        row = rows.get(escape(path))
        if not c.check(row is not None, f"{name}: {path} present", "missing"):
            continue
        for key, value in sorted(want.items()):
            if key == "content":
                data = value.encode()
                got, value = (row["size"], row["sha256"]), (str(len(data)), hashlib.sha256(data).hexdigest())
            elif key == "xattrs":
                continue  # not part of the listing format; see docs/rootfs-listing.md
            else:
                got, value = row[key], str(value)
            c.check(got == value, f"{name}: {path} {key}", f"expected {value!r}, got {got!r}")
    for path in exp.get("absent", []):
        c.check(escape(path) not in rows, f"{name}: {path} absent", "present")
    leaks = [p for p in rows if os.path.basename(p).startswith(b".wh.")]
    c.check(not leaks, f"{name}: no whiteout markers in the tree", f"{leaks}")
    return c


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        c = verify(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "expect":
        c = expect(*sys.argv[2:])
    else:
        sys.exit(__doc__)
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
