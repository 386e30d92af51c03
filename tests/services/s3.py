"""A throwaway S3 server for the tests: OpenStack Swift with its s3api middleware and tempauth
(Debian's swift, swift-proxy, swift-account, swift-container and swift-object), all state in a
temp dir, listening on 127.0.0.1 only. It is a real S3 implementation: it checks signatures
(a wrong secret gets 403 SignatureDoesNotMatch), payload hashes and multipart uploads.

  python3 s3.py start STATE_DIR   starts it, creates a bucket, writes STATE_DIR/s3.json:
                                  {"endpoint", "region", "access_key", "secret_key", "bucket",
                                   "pids": [...], "dir"}
  python3 s3.py stop STATE_DIR    stops those processes (bounded wait) and removes the temp dir

As a module: start(state_dir) returns that dict, stop(state_dir) undoes it. Ports come from
tests/e2e/ports.py (reserved, outside the ephemeral range). CTest runs start and stop as the
setup and cleanup of the `s3` fixture (tests/CMakeLists.txt).
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import ports  # noqa: E402

ACCOUNT, USER, BUCKET, REGION = "eif", "builder", "oci2eif-test", "us-east-1"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
READY_SECONDS = 60
STOP_SECONDS = 10
SERVERS = ("object", "container", "account")

# One Python process builds all three 1-replica rings (swift-ring-builder x9 costs ~10 s).
RINGS = """
import sys
from swift.common.ring import RingBuilder
etc, base = sys.argv[1], int(sys.argv[2])
for i, name in enumerate(('object', 'container', 'account')):
    b = RingBuilder(6, 1, 1)
    b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': base + i, 'device': 'd1',
               'weight': 100})
    b.rebalance()
    b.get_ring().save('%s/%s.ring.gz' % (etc, name))
"""

PROXY_FILTERS = """
[filter:s3api]
use = egg:swift#s3api
location = {region}
[filter:tempauth]
use = egg:swift#tempauth
user_{account}_{user} = {secret} .admin
""" + "".join("[filter:%s]\nuse = egg:swift#%s\n" % (f, f) for f in (
    "catch_errors", "gatekeeper", "healthcheck", "proxy_logging", "memcache", "listing_formats",
    "copy", "slo", "dlo"))


def common(d):
    return ("[DEFAULT]\nbind_ip = 127.0.0.1\nworkers = 0\nuser = %s\nswift_dir = %s/etc\n"
            "devices = %s/srv/node\nmount_check = false\nlog_level = WARNING\n"
            % (os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name, d, d))


def write_config(d, base, proxy_port, secret):
    for sub in ("etc", "srv/node/d1", "log"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "etc", "swift.conf"), "w") as f:
        f.write("[swift-hash]\nswift_hash_path_suffix = %s\nswift_hash_path_prefix = ci\n"
                "[storage-policy:0]\nname = Policy-0\ndefault = yes\n" % secrets.token_hex(8))
    for i, s in enumerate(SERVERS):
        with open(os.path.join(d, "etc", "%s-server.conf" % s), "w") as f:
            f.write(common(d) + "bind_port = %d\n[pipeline:main]\npipeline = %s-server\n"
                    "[app:%s-server]\nuse = egg:swift#%s\n" % (base + i, s, s, s))
    pipeline = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api "
                "tempauth copy slo dlo proxy-logging proxy-server")
    filters = PROXY_FILTERS.format(region=REGION, account=ACCOUNT, user=USER, secret=secret)
    filters = filters.replace("[filter:proxy_logging]", "[filter:proxy-logging]")
    filters = filters.replace("[filter:memcache]", "[filter:cache]")
    with open(os.path.join(d, "etc", "proxy-server.conf"), "w") as f:
        f.write(common(d) + "bind_port = %d\n[pipeline:main]\npipeline = %s\n"
                "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n%s"
                % (proxy_port, pipeline, filters))
    subprocess.run(["/usr/bin/python3", "-c", RINGS, os.path.join(d, "etc"), str(base)],
                   check=True)


def answers(url):
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer: the server is up
    except OSError:
        return False


def wait_until(check, what, procs, d):
    deadline = time.monotonic() + READY_SECONDS
    while not check():
        dead = [p.args[0] for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError("s3.py: %s did not come up (%s); logs in %s/log"
                               % (what, "exited: " + ", ".join(dead) if dead else "timeout", d))
        time.sleep(0.05)


def create_bucket(endpoint, secret, d):
    netrc = os.path.join(d, "netrc")  # tempauth's access key has a ':' that --user would split
    with open(netrc, "w") as f:
        f.write("machine 127.0.0.1 login %s:%s password %s\n" % (ACCOUNT, USER, secret))
    os.chmod(netrc, 0o600)
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--aws-sigv4",
         "aws:amz:%s:s3" % REGION, "--netrc-file", netrc, "-H",
         "x-amz-content-sha256: " + EMPTY_SHA256, "%s/%s" % (endpoint, BUCKET)],
        capture_output=True, text=True, check=True).stdout
    if out not in ("200", "409"):
        raise RuntimeError("s3.py: creating bucket %s answered HTTP %s" % (BUCKET, out))


def start(state_dir):
    """Starts Swift + s3api, creates the bucket, writes and returns STATE_DIR/s3.json."""
    os.makedirs(state_dir, exist_ok=True)
    if os.path.exists(os.path.join(state_dir, "s3.json")):
        stop(state_dir)  # left over from a run that never stopped it
    d = tempfile.mkdtemp(prefix="oci2eif-s3.")
    base = ports.free_ports(4)
    endpoint = "http://127.0.0.1:%d" % (base + 3)
    secret = secrets.token_hex(16)
    procs = []
    try:
        write_config(d, base, base + 3, secret)
        for s in SERVERS + ("proxy",):
            with open(os.path.join(d, "log", s + ".log"), "w") as log:
                procs.append(subprocess.Popen(
                    ["swift-%s-server" % s, os.path.join(d, "etc", "%s-server.conf" % s)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))
        for i in range(3):
            wait_until(lambda: answers("http://127.0.0.1:%d/" % (base + i)), SERVERS[i], procs, d)
        wait_until(lambda: answers(endpoint + "/healthcheck"), "the proxy", procs, d)
        create_bucket(endpoint, secret, d)
    except BaseException:
        kill([p.pid for p in procs])
        shutil.rmtree(d, ignore_errors=True)
        raise
    state = {"endpoint": endpoint, "region": REGION, "access_key": "%s:%s" % (ACCOUNT, USER),
             "secret_key": secret, "bucket": BUCKET, "pids": [p.pid for p in procs], "dir": d}
    with open(os.path.join(state_dir, "s3.json"), "w") as f:
        json.dump(state, f, indent=2)
    return state


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def kill(pids):
    """SIGTERM, a bounded wait, then SIGKILL for what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_SECONDS
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            for p in pids:  # reap them if they are our children
                try:
                    os.waitpid(p, os.WNOHANG)
                except ChildProcessError:
                    pass
            time.sleep(0.05)
        if not any(alive(p) for p in pids):
            return


def stop(state_dir):
    """Stops the server STATE_DIR/s3.json describes and removes its temp dir and the file."""
    path = os.path.join(state_dir, "s3.json")
    try:
        with open(path) as f:
            state = json.load(f)
    except FileNotFoundError:
        return
    kill(state["pids"])
    shutil.rmtree(state["dir"], ignore_errors=True)
    os.unlink(path)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: s3.py start|stop STATE_DIR")
    if sys.argv[1] == "start":
        print(json.dumps(start(sys.argv[2])))
    else:
        stop(sys.argv[2])
