#!/usr/bin/env python3
"""init.reproducible: the init binaries' bytes must not depend on where they are built.

    check_reproducible.py INIT_SOURCE_DIR MAIN_BUILD_INIT_DIR

Configures init/ on its own in two temporary build directories of different paths and lengths,
builds both, and requires every oci2eif-init-<arch> to be byte-identical across the two and to
the one the main build produced. Each must also be a static ELF executable for its machine:
64-bit little-endian, ET_EXEC, the right e_machine, and no PT_INTERP or PT_DYNAMIC program
header (`file` is not available everywhere, so the header is read directly).
"""

import filecmp
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ARCHES = {"x86_64": 62, "aarch64": 183}  # e_machine: EM_X86_64, EM_AARCH64
ET_EXEC, PT_DYNAMIC, PT_INTERP = 2, 2, 3


def elf_problems(path, machine):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        return ["not an ELF file"]
    if data[4] != 2 or data[5] != 1:
        return ["not a 64-bit little-endian ELF"]
    problems = []
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_type != ET_EXEC:
        problems.append(f"e_type is {e_type}, expected {ET_EXEC} (a non-PIE static executable)")
    if e_machine != machine:
        problems.append(f"e_machine is {e_machine}, expected {machine}")
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        (p_type,) = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == PT_INTERP:
            problems.append("has PT_INTERP: dynamically linked")
        if p_type == PT_DYNAMIC:
            problems.append("has PT_DYNAMIC: not fully static")
    return problems


def build(source, build_dir):
    subprocess.run(["cmake", "-S", source, "-B", build_dir, "-G", "Ninja"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "-j1"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(build_dir, "init")


def main():
    source, main_dir = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="init-reproducible.")
    failures = []
    try:
        one = build(source, os.path.join(tmp, "a"))
        two = build(source, os.path.join(tmp, "second", "a-longer-build-directory"))
        for arch, machine in ARCHES.items():
            name = f"oci2eif-init-{arch}"
            copies = [os.path.join(d, name) for d in (one, two, main_dir)]
            missing = [p for p in copies if not os.path.isfile(p)]
            if missing:
                failures.append(f"{name}: not built: {', '.join(missing)} "
                                f"(is {arch}-linux-gnu-gcc installed?)")
                continue
            for other in copies[1:]:
                if not filecmp.cmp(copies[0], other, shallow=False):
                    failures.append(f"{name}: {copies[0]} and {other} differ")
            failures += [f"{name}: {p}" for p in elf_problems(copies[0], machine)]
            if not failures:
                print(f"{name}: {os.path.getsize(copies[0])} bytes, identical in 3 builds, "
                      f"static ELF e_machine {machine}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print(f"init.reproducible: FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
