"""Deterministic writers for layer tars, OCI image layouts, oci-archives and `docker save` tars.

Everything here is a pure function of its arguments: no clock, no host user names, no umask, no
directory listing order. Tar headers carry MTIME, uid/gid from the entry, empty uname/gname and
PAX format; gzip uses level 6 with mtime 0 and no file name; zstd runs the `zstd` CLI with every
option that changes the output pinned; JSON blobs have sorted keys and no whitespace. Digests are
therefore stable across runs, and across machines with the same Python tarfile, zlib and zstd.

A layer is described as a list of Entry values in tar order (order matters: it is how hardlinks
and opaque markers are tested), built with the small constructors below.
"""
import gzip
import hashlib
import io
import json
import os
import posixpath
import subprocess
import tarfile
from dataclasses import dataclass, field

MTIME = 1700000000                 # 2023-11-14T22:13:20Z, in every tar header
CREATED = "2023-11-14T22:13:20Z"   # the same instant, in configs

OCI = {
    "layout": "application/vnd.oci.image.layout.v1+json",
    "index": "application/vnd.oci.image.index.v1+json",
    "manifest": "application/vnd.oci.image.manifest.v1+json",
    "config": "application/vnd.oci.image.config.v1+json",
    "tar": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
DOCKER = {
    "index": "application/vnd.docker.distribution.manifest.list.v2+json",
    "manifest": "application/vnd.docker.distribution.manifest.v2+json",
    "config": "application/vnd.docker.container.image.v1+json",
    "tar": "application/vnd.docker.image.rootfs.diff.tar",
    "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
REF_NAME = "org.opencontainers.image.ref.name"


# ---------------------------------------------------------------- layer entries
@dataclass
class Entry:
    kind: str                  # file dir symlink hardlink char block fifo
    path: str                  # as written in the tar header (no leading ./)
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    data: bytes = b""          # file content
    link: str = ""             # symlink / hardlink target
    dev: tuple = (0, 0)        # (major, minor) for char/block
    pax: dict = field(default_factory=dict)  # extra PAX records, e.g. SCHILY.xattr.*


def _b(data):
    return data if isinstance(data, bytes) else data.encode()


def F(path, data=b"", mode=0o644, uid=0, gid=0, xattrs=None):
    pax = {"SCHILY.xattr." + k: v for k, v in (xattrs or {}).items()}
    return Entry("file", path, mode, uid, gid, _b(data), pax=pax)


def D(path, mode=0o755, uid=0, gid=0):
    return Entry("dir", path, mode, uid, gid)


def S(path, target, uid=0, gid=0):
    return Entry("symlink", path, 0o777, uid, gid, link=target)


def H(path, target, mode=0o644, uid=0, gid=0):
    """Hardlink. Tar semantics: `target` must be an earlier entry of the same layer."""
    return Entry("hardlink", path, mode, uid, gid, link=target)


def CHR(path, major, minor, mode=0o666):
    return Entry("char", path, mode, dev=(major, minor))


def BLK(path, major, minor, mode=0o660):
    return Entry("block", path, mode, dev=(major, minor))


def FIFO(path, mode=0o644):
    return Entry("fifo", path, mode)


def WH(path):
    """Whiteout: delete `path` (and everything under it) from the layers below."""
    parent, base = posixpath.split(path)
    return F(posixpath.join(parent, ".wh." + base))


def OPQ(directory):
    """Opaque marker: hide everything lower layers put in `directory`."""
    return F(posixpath.join(directory, ".wh..wh..opq"))


_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
          "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
          "fifo": tarfile.FIFOTYPE}


def tar_header(e, size=None):
    """The header block(s) of one entry (PAX records first when needed)."""
    ti = tarfile.TarInfo(e.path)
    ti.type = _TYPES[e.kind]
    ti.mode, ti.uid, ti.gid, ti.mtime = e.mode, e.uid, e.gid, MTIME
    ti.uname = ti.gname = ""
    ti.size = len(e.data) if size is None else size
    ti.linkname = e.link
    ti.devmajor, ti.devminor = e.dev
    ti.pax_headers = dict(e.pax)
    return ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def pad(n):
    return b"\0" * (-n % tarfile.BLOCKSIZE)


def make_tar(entries):
    """A complete tar (PAX) of `entries` in the given order, with the end-of-archive marker."""
    out = io.BytesIO()
    for e in entries:
        out.write(tar_header(e))
        if e.kind == "file":
            out.write(e.data + pad(len(e.data)))
    out.write(b"\0" * (2 * tarfile.BLOCKSIZE))
    return out.getvalue()


def compress(raw, how):
    if how == "gzip":
        return gzip.compress(raw, compresslevel=6, mtime=0)
    if how == "zstd":
        # -19 would be slow on the shared machine; -3 is zstd's default, pinned here.
        return subprocess.run(["zstd", "-q", "-3", "-c", "--no-progress", "--no-check"],
                              input=raw, capture_output=True, check=True).stdout
    assert how == "tar", how
    return raw


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def jbytes(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def jpretty(obj):
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


# ---------------------------------------------------------------- containers
def tar_of_files(files, dirs_mode=0o755, file_mode=0o644):
    """A tar of a {relative path: bytes} mapping, with its parent directories, sorted."""
    dirs = set()
    for p in files:
        parts = p.split("/")[:-1]
        dirs |= {"/".join(parts[:i + 1]) for i in range(len(parts))}
    entries = [D(d + "/", dirs_mode) for d in sorted(dirs)]
    entries += [F(p, files[p], file_mode) for p in sorted(files)]
    # Sort parents before children with a single ordering key.
    entries.sort(key=lambda e: e.path.rstrip("/"))
    return make_tar(entries)


class Layout:
    """An OCI image layout held in memory ({relative path: bytes}) until written."""

    def __init__(self):
        self.files = {"oci-layout": jbytes({"imageLayoutVersion": "1.0.0"})}
        self.refs = []

    def blob(self, data, media_type, **extra):
        digest = sha(data)
        self.files["blobs/sha256/" + digest[7:]] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}

    def tag(self, desc, name="latest"):
        ann = dict(desc.get("annotations", {}), **{REF_NAME: name})
        self.refs.append({**desc, "annotations": ann})
        idx = {"schemaVersion": 2, "mediaType": OCI["index"], "manifests": self.refs}
        self.files["index.json"] = jpretty(idx)

    def write(self, path):
        """Write the layout to `path` (which must not exist yet)."""
        os.makedirs(path)
        for rel in sorted(self.files):
            full = os.path.join(path, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(self.files[rel])

    def archive(self):
        """The `oci-archive` form: a tar whose root is the layout."""
        return tar_of_files(self.files)


@dataclass
class Built:
    """One single-platform image as built: what tests need to know about it."""
    desc: dict            # manifest descriptor (with platform)
    manifest: dict
    config: dict
    config_bytes: bytes
    layers: list          # [{"digest","mediaType","size","diff_id"}]
    raw_layers: list      # uncompressed tars


def build_image(lay, layers, config, *, arch="amd64", variant=None, mt=OCI, history=None,
                edit_config=None):
    """Add layers, config and manifest blobs to `lay`.

    layers: list of (entries or raw tar bytes, "gzip"|"zstd"|"tar").
    edit_config: called on the config object before it is serialised (to make bad images);
    the returned Built.layers still records each layer's true diff_id.
    """
    descs, raws, infos = [], [], []
    for content, how in layers:
        raw = content if isinstance(content, bytes) else make_tar(content)
        d = lay.blob(compress(raw, how), mt[how])
        descs.append(d)
        raws.append(raw)
        infos.append({**d, "diff_id": sha(raw)})
    cfg = {"created": CREATED, "architecture": arch, "os": "linux", "config": config,
           "rootfs": {"type": "layers", "diff_ids": [i["diff_id"] for i in infos]},
           "history": [{"created": CREATED, "created_by": h}
                       for h in (history or [f"oci2eif make_images.py layer {i + 1}"
                                             for i in range(len(layers))])]}
    if variant:
        cfg["variant"] = variant
    if edit_config:
        edit_config(cfg)
    cfg_bytes = jbytes(cfg)
    man = {"schemaVersion": 2, "mediaType": mt["manifest"],
           "config": lay.blob(cfg_bytes, mt["config"]), "layers": descs}
    platform = {"architecture": arch, "os": "linux"}
    if variant:
        platform["variant"] = variant
    desc = lay.blob(jbytes(man), mt["manifest"], platform=platform)
    return Built(desc, man, cfg, cfg_bytes, infos, raws)


def docker_save_archive(built, repo_tag):
    """A `docker save` (pre-25, non-OCI) archive of one image.

    Layout: manifest.json [{Config, RepoTags, Layers}], repositories, <config hex>.json and
    <id>/{VERSION,json,layer.tar} per layer, layers uncompressed. The <id> here is the layer's
    chain id hex (docker derives a v1 id differently; readers must only use manifest.json).
    """
    files, layer_paths, parent, chain = {}, [], None, None
    for raw in built.raw_layers:
        diff = sha(raw)
        chain = diff if chain is None else sha(f"{chain} {diff}".encode())
        lid = chain[7:]
        v1 = {"id": lid, "created": CREATED}
        if parent:
            v1["parent"] = parent
        files[f"{lid}/VERSION"] = b"1.0"
        files[f"{lid}/json"] = jbytes(v1)
        files[f"{lid}/layer.tar"] = raw
        layer_paths.append(f"{lid}/layer.tar")
        parent = lid
    cfg_name = sha(built.config_bytes)[7:] + ".json"
    files[cfg_name] = built.config_bytes
    files["manifest.json"] = jbytes([{"Config": cfg_name, "RepoTags": [repo_tag],
                                      "Layers": layer_paths}])
    repo, tag = repo_tag.rsplit(":", 1)
    files["repositories"] = jbytes({repo: {tag: parent}})
    return tar_of_files(files)
