"""Hostile single layers: plain tar files a flattener must reject (or, for one, accept).

Each case is one uncompressed tar, OUTDIR/hostile/<case>.tar, described in
OUTDIR/hostile/README.json: what it does, the tar path involved, and what a correct flattener
does with it ("reject" means the whole layer fails with an error naming the path; nothing is
written outside the root in any case).
"""
import os
import tarfile

from imagelib import D, F, H, S, jpretty, make_tar, tar_header

PIB = 1 << 50


def _huge_size():
    # A header that declares 1 PiB (PAX `size` record, as the ustar field cannot hold it),
    # followed only by the end-of-archive marker. A reader that trusts the size either tries
    # to allocate/skip 1 PiB or reads the marker as content and then hits EOF.
    return tar_header(F("huge.bin"), size=PIB) + b"\0" * (2 * tarfile.BLOCKSIZE)


def _truncated():
    body = bytes(range(256)) * 16  # 4096 bytes declared
    head = make_tar([D("t"), F("t/ok.txt", "complete entry\n")])[:-2 * tarfile.BLOCKSIZE]
    return head + tar_header(F("t/cut.bin", body)) + body[:1000]


def _many():
    ents = [D("many")] + [F(f"many/f{i:04d}.txt", f"{i}\n") for i in range(5000)]
    return make_tar(ents)


CASES = {
    "traversal": (
        lambda: make_tar([F("../../etc/passwd", "root::0:0::/:/bin/sh\n")]),
        "a file whose name climbs out of the root with ..", "../../etc/passwd", "reject"),
    "absolute-dotdot": (
        lambda: make_tar([F("/../x", "absolute then dotdot\n")]),
        "an absolute name that then climbs with ..", "/../x", "reject"),
    "hardlink-missing": (
        lambda: make_tar([D("a"), H("a/link", "does/not/exist")]),
        "a hardlink to a path that is not in the tree", "a/link -> does/not/exist", "reject"),
    "hardlink-escape": (
        lambda: make_tar([D("a"), H("a/link", "../../etc/shadow")]),
        "a hardlink whose target climbs out of the root", "a/link -> ../../etc/shadow", "reject"),
    "symlink-parent-escape": (
        lambda: make_tar([S("up", "../../.."), F("up/escaped.txt", "written through a symlink\n")]),
        "a symlink to outside the root, then a file written through it",
        "up -> ../../..; up/escaped.txt", "reject"),
    "symlink-parent-inside": (
        lambda: make_tar([D("etc"), S("abs", "/etc"), F("abs/inside.txt", "through an absolute symlink\n")]),
        "a symlink to /etc, then a file through it: legal, resolved inside the root",
        "abs -> /etc; abs/inside.txt", "accept: etc/inside.txt exists (\"through an absolute "
        "symlink\\n\"), abs stays a symlink to /etc"),
    "huge-size": (
        _huge_size, "a header declaring a 1 PiB file with no body", "huge.bin", "reject"),
    "truncated": (
        _truncated, "a valid entry, then a header for 4096 bytes cut after 1000 bytes of body",
        "t/cut.bin", "reject"),
    "many-entries": (
        _many, "5000 small files in one directory, for entry-count limits",
        "many/f0000.txt .. many/f4999.txt", "accept unless a configured entry limit is below 5001"),
}


def write_all(outdir):
    """Write every case into `outdir`; return the README.json object (also written)."""
    readme = {}
    for name in sorted(CASES):
        make, what, path, expect = CASES[name]
        with open(os.path.join(outdir, name + ".tar"), "wb") as f:
            f.write(make())
        readme[name] = {"file": f"hostile/{name}.tar", "what": what, "path": path, "expect": expect}
    with open(os.path.join(outdir, "README.json"), "wb") as f:
        f.write(jpretty(readme))
    return readme
