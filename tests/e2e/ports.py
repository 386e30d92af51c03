"""Free 127.0.0.1 ports for the e2e suites' servers, safe while CTest runs suites in parallel.

Asking the kernel for port 0 and handing the number to a server started later is racy twice
over: the number comes from the ephemeral range, so any client connection opened in between
(another suite's curl, a registry's upstream) may take it, and a parallel suite may be handed
the same number. A CI run failed on exactly that ("bind: address already in use").

So ports come from below the kernel's ephemeral range, where no outgoing connection lands, and
each is reserved by a file in a directory every suite of this user shares (only this user's:
checked), under an flock so that racing suites take turns. A reservation is never released by
the suite; one older than RESERVATION_TTL is stale and may be taken again (the range holds
thousands of ports, a CI run uses about a hundred). OCI2EIF_TEST_PORTS=FIRST-LAST narrows the
range (ports_test.py uses it to make collisions certain if the reservations did not work).

  python3 ports.py N    prints the first of N consecutive reserved ports (for reglab/lab.sh)
"""
import fcntl
import os
import random
import stat
import socket
import sys
import tempfile
import time

RESERVATION_TTL = 6 * 3600  # seconds: longer than any test run
LOWEST = 10000  # below this live well-known services (and 8080, the README's default)
ATTEMPTS = 200


def ephemeral_range():
    """The kernel's range for outgoing connections' local ports."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(v) for v in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def candidate_range(count):
    """[first, last] to draw a base from: OCI2EIF_TEST_PORTS, else below the ephemeral range,
    else above it."""
    if os.environ.get("OCI2EIF_TEST_PORTS"):
        first, last = (int(v) for v in os.environ["OCI2EIF_TEST_PORTS"].split("-"))
        return first, last - count + 1
    low, high = ephemeral_range()
    if low - LOWEST >= 1000 + count:
        return LOWEST, low - count
    if 65535 - high >= 1000 + count:
        return high + 1, 65536 - count
    raise SystemExit("ports.py: the ephemeral range %d-%d leaves no room for test ports" % (low, high))


def reservation_dir():
    """This user's reservation directory: a real directory (not a symlink), owned by us, 0700."""
    path = os.path.join(tempfile.gettempdir(), "oci2eif-test-ports-%d" % os.getuid())
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise SystemExit("ports.py: %s is not a private directory of this user" % path)
    return path


def reserve(directory, port):
    """True when this call now owns `port` (a fresh O_EXCL file, or a stale one replaced).
    Called under the directory's lock, so check-then-replace of a stale file is safe."""
    path = os.path.join(directory, str(port))
    try:
        if time.time() - os.stat(path).st_mtime > RESERVATION_TTL:
            os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        return False


def bindable(port):
    """Nothing on this machine listens on or is connected from 127.0.0.1:port right now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports(count):
    """The first of `count` consecutive ports, each reserved and bindable when returned."""
    first, last = candidate_range(count)
    directory = reservation_dir()
    rng = random.SystemRandom()
    with open(os.path.join(directory, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return draw(directory, rng, first, last, count)


def draw(directory, rng, first, last, count):
    for _ in range(ATTEMPTS):
        base = rng.randint(first, last)
        # Ports reserved before a failure stay reserved (until the TTL): harmless, and a port
        # that was not bindable is best left alone by the other suites too.
        if all(reserve(directory, port) and bindable(port) for port in range(base, base + count)):
            return base
    raise SystemExit("ports.py: no %d consecutive free ports after %d attempts" % (count, ATTEMPTS))


def free_port():
    return free_ports(1)


if __name__ == "__main__":
    print(free_ports(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
