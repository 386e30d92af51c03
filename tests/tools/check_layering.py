#!/usr/bin/env python3
"""Keeps the folders' dependency direction honest (docs/ARCHITECTURE.md):

    core <- registry <- pipeline <- server <- api <- cli

A file in one of these folders may include headers of its own folder and of the folders to its
left, never of one to its right. Each folder is also one namespace: `oci2eif::FOLDER` (and
namespaces nested in it), except core, whose types are the shared vocabulary in `oci2eif`
itself (Error, Bytes, ...), so a core namespace may not carry another folder's name.

usage: check_layering.py [ROOT]      check the tree at ROOT (default: this repository)
       check_layering.py --self-test plant each kind of violation in a scratch tree and
                                     require that it is reported
Exits 1 and lists every violation (file:line, what it includes, which way is allowed).
"""
import os
import re
import sys
import tempfile

import source_check

LAYERS = ["core", "registry", "pipeline", "server", "api", "cli"]
SOURCE_SUFFIXES = (".hpp", ".cpp", ".h", ".c", ".hpp.in", ".cpp.in")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"/]+)/')
NAMESPACE = re.compile(r"^\s*namespace\s+([A-Za-z_][\w:]*)\s*\{")


def sources(root, folder):
    for dirpath, _, files in os.walk(os.path.join(root, folder)):
        for name in sorted(files):
            if name.endswith(SOURCE_SUFFIXES):
                yield os.path.join(dirpath, name)


def namespace_problem(folder, namespace):
    parts = namespace.split("::")
    if parts[0] != "oci2eif":
        return None  # a local helper namespace (e.g. `media_type` inside oci2eif::registry)
    if folder == "core":
        if len(parts) > 1 and parts[1] in LAYERS:
            return f"core declares namespace {namespace}; core lives in oci2eif itself"
        return None
    if len(parts) < 2 or parts[1] != folder:
        return f"{folder}/ declares namespace {namespace}; expected oci2eif::{folder}"
    return None


def check(root):
    problems = []
    for rank, folder in enumerate(LAYERS):
        allowed = LAYERS[: rank + 1]
        for path in sources(root, folder):
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m and m.group(1) in LAYERS and m.group(1) not in allowed:
                        problems.append(
                            f"{rel}:{lineno}: {folder}/ includes {m.group(1)}/, a folder above it; "
                            f"{folder}/ may include only {', '.join(allowed)}")
                    m = NAMESPACE.match(line)
                    if m:
                        why = namespace_problem(folder, m.group(1))
                        if why:
                            problems.append(f"{rel}:{lineno}: {why}")
    return problems


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def self_test():
    """Each planted violation must be reported, and a clean tree must pass."""
    with tempfile.TemporaryDirectory() as root:
        write(root, "core/a.hpp", 'namespace oci2eif {\n}\n')
        write(root, "registry/b.cpp", '#include "core/a.hpp"\nnamespace oci2eif::registry {\n}\n')
        write(root, "cli/main.cpp", '#include "api/x.hpp"\n#include "core/a.hpp"\n')
        if check(root):
            print("self-test: a clean tree was reported: " + "; ".join(check(root)))
            return 1
        planted = {
            "core/bad.cpp": ('#include "server/job_store.hpp"\n', "core/ includes server/"),
            "pipeline/bad.cpp": ('#include "api/http_api.hpp"\n', "pipeline/ includes api/"),
            "api/webhooks/bad.cpp": ('# include "cli/commands.hpp"\n', "api/ includes cli/"),
            "server/ns.cpp": ("namespace oci2eif::api {\n}\n", "expected oci2eif::server"),
            "core/ns.cpp": ("namespace oci2eif::server {\n}\n", "core lives in oci2eif"),
        }
        for rel, (text, expected) in planted.items():
            write(root, rel, text)
            found = check(root)
            os.remove(os.path.join(root, rel))
            if not any(rel in p and expected in p for p in found):
                print(f"self-test: planted {rel} ({expected}) was not reported: {found}")
                return 1
    print(f"self-test: all {len(planted)} planted violations reported, the clean tree passed")
    return 0


def summary(problems):
    if problems:
        return f"layering: {len(problems)} violation(s) of " + " <- ".join(LAYERS)
    return "layering: " + " <- ".join(LAYERS) + " holds"


if __name__ == "__main__":
    sys.exit(source_check.run(check, self_test, summary))
