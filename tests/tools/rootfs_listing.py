#!/usr/bin/env python3
"""Print an extracted root filesystem in oci2eif's rootfs listing format.

  rootfs_listing.py DIR

One line per entry under DIR (DIR itself excluded), sorted bytewise on the raw path bytes,
TAB-separated:  path type mode uid:gid size sha256 target
The format is specified in docs/rootfs-listing.md; oci2eif prints the same format from its
in-memory tree, so the two can be diffed. Never follows symlinks; sockets are skipped.
"""
import hashlib
import os
import stat
import sys


def escape(raw):
    """Escape backslash, TAB and LF so one entry is always one line with 7 fields."""
    return raw.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest().encode()


def walk(root, rel=b""):
    """Yield (relative path bytes, full path bytes) for every entry, not following links."""
    with os.scandir(os.path.join(root, rel) if rel else root) as it:
        for de in it:
            r = rel + b"/" + de.name if rel else de.name
            yield r, os.path.join(root, r)
            if de.is_dir(follow_symlinks=False):
                yield from walk(root, r)


def line(rel, full):
    st = os.lstat(full)
    m = st.st_mode
    size, digest, target = b"0", b"-", b"-"
    if stat.S_ISREG(m):
        kind, size, digest = b"file", str(st.st_size).encode(), file_sha256(full)
    elif stat.S_ISDIR(m):
        kind = b"dir"
    elif stat.S_ISLNK(m):
        kind, target = b"symlink", escape(os.readlink(full))
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        kind = b"char" if stat.S_ISCHR(m) else b"block"
        target = b"%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    elif stat.S_ISFIFO(m):
        kind = b"fifo"
    else:
        return None  # sockets (and anything else unknown) are not part of an image
    mode = b"0777" if kind == b"symlink" else b"%04o" % (m & 0o7777)
    owner = b"%d:%d" % (st.st_uid, st.st_gid)
    return b"\t".join([escape(rel), kind, mode, owner, size, digest, target])


def listing(root):
    """The listing of `root` as bytes (one LF-terminated line per entry)."""
    entries = sorted(walk(os.fsencode(root)))
    lines = [line(rel, full) for rel, full in entries]
    return b"".join(l + b"\n" for l in lines if l is not None)


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: rootfs_listing.py DIR   (DIR: an extracted root filesystem)")
    sys.stdout.buffer.write(listing(sys.argv[1]))


if __name__ == "__main__":
    main()
