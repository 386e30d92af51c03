#!/usr/bin/env python3
"""ports.py, the e2e suites' port allocator: what it hands out is outside the kernel's ephemeral
range, reserved, bindable, and never handed out twice, even to processes racing each other.

usage: ports_test.py
"""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ports  # noqa: E402
from checks import check, summary  # noqa: E402


def main():
    # A private reservation directory, so that this test neither sees nor leaves other runs' state.
    tempfile.tempdir = tempfile.mkdtemp(prefix="ports-test-")
    os.environ["TMPDIR"] = tempfile.tempdir
    low, high = ports.ephemeral_range()
    bases = [ports.free_ports(9) for _ in range(30)]
    handed = [b + i for b in bases for i in range(9)]
    check("ranges are disjoint", len(set(handed)) == len(handed), sorted(handed))
    check("outside the ephemeral range %d-%d" % (low, high),
          all(p < low or p > high for p in handed), [p for p in handed if low <= p <= high])
    check("every port reserved", all(os.path.exists(os.path.join(ports.reservation_dir(), str(p)))
                                     for p in handed))

    # A port something already listens on is never handed out, even when it is the only candidate.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        taken = held.getsockname()[1]
        real_range, ports.candidate_range = ports.candidate_range, lambda count: (taken, taken)
        try:
            got = ports.free_port()
        except SystemExit as e:
            got = str(e)
        ports.candidate_range = real_range
        check("a listening port is not handed out", "no 1 consecutive free ports" in str(got), got)

    # Eight processes at once, each taking 5 single ports from a window of 60: if reservations
    # did not hold across processes, 40 random picks from 60 would all but surely collide.
    base = ports.free_ports(60)  # a window nobody else uses or will be handed
    window = dict(os.environ, OCI2EIF_TEST_PORTS="%d-%d" % (base, base + 59))
    for p in range(base, base + 60):  # hand the window back to the racers
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(ports.reservation_dir(), str(p)))
    racer = "import ports; print(' '.join(str(ports.free_port()) for _ in range(5)))"
    procs = [subprocess.Popen([sys.executable, "-c", racer], cwd=HERE, env=window,
                              stdout=subprocess.PIPE, text=True) for _ in range(8)]
    racing = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        check("a racing process gets its ports", p.returncode == 0, p.returncode)
        racing += [int(v) for v in out.split()]
    check("40 ports taken by 8 racing processes are all different and inside the window",
          len(racing) == 40 and len(set(racing)) == 40 and all(base <= p < base + 60 for p in racing),
          sorted(racing))

    # A stale reservation (older than the TTL) is taken again; a fresh one is not.
    stale = os.path.join(ports.reservation_dir(), str(handed[0]))
    os.utime(stale, (0, 0))
    check("a stale reservation is reclaimed", ports.reserve(ports.reservation_dir(), handed[0]))
    check("a fresh reservation is refused", not ports.reserve(ports.reservation_dir(), handed[1]))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
