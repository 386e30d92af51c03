#!/usr/bin/env python3
"""Every CTest test carries exactly one of the labels `unit` and `e2e`, so `ctest -L unit` and
`ctest -LE e2e` both select exactly the fast, self-contained tests (doctest cases and static
checks) and `ctest -L e2e` everything that starts servers, QEMU, registries or the real binary.

Also: every doctest case is a CTest test of exactly its name. CMake splits a name at ';', and
the pieces select no case, so such a test would pass having run nothing.

usage: check_test_labels.py BUILD_DIR
"""
import json
import os
import subprocess
import sys


def doctest_cases(build_dir):
    """The case names the unit binary holds (doctest's --list-test-cases)."""
    binary = os.path.join(build_dir, "tests", "oci2eif_tests")
    out = subprocess.run([binary, "--list-test-cases", "--no-version"], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    lines = out.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("=====")]
    return set(lines[rules[0] + 1:rules[1]]) if len(rules) >= 2 else set()


def main():
    build_dir = sys.argv[1]
    out = subprocess.run(["ctest", "--test-dir", build_dir, "--show-only=json-v1"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    tests = json.loads(out)["tests"]
    problems = []
    for t in tests:
        labels = set()
        for prop in t.get("properties", []):
            if prop["name"] == "LABELS":
                labels.update(prop["value"])
        kinds = labels & {"unit", "e2e"}
        if len(kinds) != 1:
            problems.append(f"{t['name']}: labels {sorted(labels)} must hold exactly one of unit, e2e")
    names = set(t["name"] for t in tests)
    cases = doctest_cases(build_dir)
    # Cases of a suite run on their own are registered as SUITE.CASE.
    names |= set(n.split(".", 1)[1] for n in names if "." in n)
    for case in sorted(cases - names):
        problems.append(f"doctest case {case!r} is not a CTest test of that name (a ';' in it?)")
    if not cases:
        problems.append("the unit binary listed no doctest cases")
    for p in problems:
        print(p)
    units = sum(1 for t in tests if "unit" in str(t.get("properties")))
    print(f"test labels: {len(tests)} tests, {units} unit, {len(problems)} problem(s)")
    return 1 if problems or len(tests) < 2 else 0


if __name__ == "__main__":
    sys.exit(main())
