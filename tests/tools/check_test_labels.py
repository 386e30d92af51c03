#!/usr/bin/env python3
"""Every CTest test carries exactly one of the labels `unit` and `e2e`, so `ctest -L unit` and
`ctest -LE e2e` both select exactly the fast, self-contained tests (doctest cases and static
checks) and `ctest -L e2e` everything that starts servers, QEMU, registries or the real binary.

usage: check_test_labels.py BUILD_DIR
"""
import json
import subprocess
import sys


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
    for p in problems:
        print(p)
    units = sum(1 for t in tests if "unit" in str(t.get("properties")))
    print(f"test labels: {len(tests)} tests, {units} unit, {len(problems)} problem(s)")
    return 1 if problems or len(tests) < 2 else 0


if __name__ == "__main__":
    sys.exit(main())
