#!/usr/bin/env python3
"""Functions fit on a screen: no production function body over 60 lines, unless it reads like a
table and is listed in ALLOWED with the reason.

A function is recognised by its opening line: one ending in `) {` (optionally `const`,
`override`, `noexcept`, a trailing return type) that is not a control statement or a lambda;
its length runs to the matching closing brace. A heuristic, but one that sees every function
the project's clang-format layout produces.

usage: check_function_length.py [ROOT]      check core registry pipeline server api cli
       check_function_length.py --self-test plant a long function and a long table
"""
import os
import re
import sys
import tempfile

import source_check

FOLDERS = ["core", "registry", "pipeline", "server", "api", "cli"]
LIMIT = 60
# (file, the first line's text up to its '('): why it may be longer.
ALLOWED = {
    ("core/eif_writer.cpp", "EifWriteResult write_eif"):
        "reads as the EIF format: the sections in file order, each with the PCRs it feeds",
}
CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|else|do|try|return|case|\})\b")
OPENING = re.compile(r"\)\s*(const)?\s*(override)?\s*(noexcept)?\s*(->\s*[\w:<>]+\s*)?\{\s*$")


def long_functions(path, rel):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    found = []
    for i, line in enumerate(lines):
        if not OPENING.search(line) or CONTROL.match(line) or "](" in line:
            continue
        depth, j = 0, i
        while j < len(lines):
            depth += lines[j].count("{") - lines[j].count("}")
            if depth <= 0:
                break
            j += 1
        start = i  # a signature wrapped over lines starts where the name is
        while start > 0 and not re.match(r"^\s*[\w:<>~\[]", lines[start]):
            start -= 1
        length = j - i + 1
        head = lines[start].strip().split("(")[0]
        if length > LIMIT and (rel, head) not in ALLOWED:
            found.append(f"{rel}:{start + 1}: {head} is {length} lines (limit {LIMIT})")
    return found


def check(root):
    problems = []
    for folder in FOLDERS:
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in sorted(files):
                if name.endswith((".cpp", ".hpp")):
                    path = os.path.join(dirpath, name)
                    problems += long_functions(path, os.path.relpath(path, root))
    return problems


def self_test():
    body = "".join(f"  x += {n};\n" for n in range(LIMIT))
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "server"))
        with open(os.path.join(root, "server", "a.cpp"), "w", encoding="utf-8") as f:
            f.write("int short_one(int x) {\n  return x;\n}\n\n"
                    "int long_one(int x) {\n" + body + "  return x;\n}\n")
        os.makedirs(os.path.join(root, "core"))
        with open(os.path.join(root, "core", "eif_writer.cpp"), "w", encoding="utf-8") as f:
            f.write("EifWriteResult write_eif(int x) {\n" + body + "}\n")
        found = check(root)
        if len(found) != 1 or "long_one is 63 lines" not in found[0]:
            print(f"self-test: expected exactly long_one to be reported, got {found}")
            return 1
    print("self-test: a 63-line function reported; a short one and an allowed table passed")
    return 0


def summary(problems):
    return f"function length: {len(problems)} function(s) over {LIMIT} lines outside ALLOWED"


if __name__ == "__main__":
    sys.exit(source_check.run(check, self_test, summary))
