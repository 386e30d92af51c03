"""The command line the source checks (check_layering.py, check_function_length.py) share:

    SCRIPT [ROOT]       check the tree at ROOT (default: this repository), print each problem
                        and a summary line, exit 1 if there was any
    SCRIPT --self-test  run the script's self-test (a scratch tree with planted problems)
"""
import os
import sys


def run(check, self_test, summary):
    """check(root) -> [problem]; self_test() -> exit code; summary(problems) -> last line."""
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else repo)
    problems = check(root)
    for p in problems:
        print(p)
    print(summary(problems))
    return 1 if problems else 0
