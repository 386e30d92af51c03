"""The e2e scripts' check reporting: one line per check ("ok   - NAME" or "FAIL - NAME: DETAIL"),
then "N passed, M failed" and an exit status of 1 if any failed."""

results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok   - " if ok else "FAIL - ") + name + ("" if ok or not detail else ": " + str(detail)),
          flush=True)
    return bool(ok)


def summary():
    """Prints the totals; returns the process exit status."""
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0
