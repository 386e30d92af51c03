#!/usr/bin/env python3
"""A throwaway PostgreSQL 15 server for the tests: Debian's binaries, a temp dir, 127.0.0.1 only.

  postgres.py start STATE_DIR   initdb + start; writes STATE_DIR/postgres.json
                                {"url", "port", "data_dir", "pid"} (the unit tests read it
                                through $OCI2EIF_TEST_SERVICES)
  postgres.py stop STATE_DIR    stops the server that file names and removes its temp dir

As a module, for a test that restarts the server mid-run:

  pg = PostgresServer(); pg.start(); ...; pg.restart(down_seconds=2); ...; pg.stop()

initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (runuser).
The port is reserved through tests/e2e/ports.py, so parallel suites never share one. Durability
is off (fsync, synchronous_commit, full_page_writes): the data is thrown away anyway.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from ports import free_port  # noqa: E402

PGBIN = os.environ.get("OCI2EIF_PGBIN", "/usr/lib/postgresql/15/bin")
STATE_FILE = "postgres.json"


def _as_server_user(argv):
    """argv run as the cluster's owner: `postgres` when we are root, else ourselves."""
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


def _remove_tree(path):
    """rm -rf that refuses to cross into another file system (a mount under the temp dir)."""
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            if os.path.ismount(os.path.join(root, d)):
                raise SystemExit("postgres.py: %s is a mount point; not removing %s"
                                 % (os.path.join(root, d), path))
    shutil.rmtree(path, ignore_errors=True)


class PostgresServer:
    """One throwaway cluster. start() makes and starts it; stop() stops it and deletes it;
    halt()/resume() stop and start the same cluster on the same port (to test reconnects)."""

    def __init__(self, port=None, base_dir=None):
        self.port = port
        self.base_dir = base_dir  # the temp dir: data/, server.log, initdb.log, the socket
        self.pid = None

    @property
    def data_dir(self):
        return os.path.join(self.base_dir, "data")

    @property
    def url(self):
        return "postgresql://postgres@127.0.0.1:%d/postgres" % self.port

    def state(self):
        return {"url": self.url, "port": self.port, "data_dir": self.data_dir, "pid": self.pid,
                "base_dir": self.base_dir}

    def start(self):
        self.base_dir = tempfile.mkdtemp(prefix="oci2eif-pg.")
        if os.getuid() == 0:
            shutil.chown(self.base_dir, "postgres", "postgres")
        self.port = self.port or free_port()
        with open(os.path.join(self.base_dir, "initdb.log"), "w") as log:
            subprocess.run(_as_server_user([
                os.path.join(PGBIN, "initdb"), "-D", self.data_dir, "-U", "postgres", "-A",
                "trust", "-E", "UTF8", "--no-locale", "--no-sync"]), stdout=log, stderr=log,
                check=True)
        self.resume()
        return self

    def resume(self):
        """Starts the cluster (again), on the same port; returns once it accepts connections."""
        options = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
                   % (self.port, self.base_dir))
        result = subprocess.run(_as_server_user([
            os.path.join(PGBIN, "pg_ctl"), "-D", self.data_dir, "-l",
            os.path.join(self.base_dir, "server.log"), "-w", "-t", "60", "-o", options, "start"]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise SystemExit("postgres.py: pg_ctl start on port %d failed:\n%s\n%s" % (
                self.port, result.stdout, self._log_tail()))
        with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def halt(self):
        """Stops the server (fast: clients are disconnected), keeping the cluster."""
        if self.base_dir and os.path.exists(os.path.join(self.data_dir, "postmaster.pid")):
            subprocess.run(_as_server_user([
                os.path.join(PGBIN, "pg_ctl"), "-D", self.data_dir, "-m", "fast", "-w", "-t",
                "30", "stop"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.pid and _alive(self.pid):
            os.kill(self.pid, 9)  # pg_ctl could not stop it: do not leave it running
        self.pid = None

    def restart(self, down_seconds=0):
        self.halt()
        time.sleep(down_seconds)
        self.resume()

    def stop(self):
        self.halt()
        if self.base_dir:
            _remove_tree(self.base_dir)
        self.base_dir = None

    def _log_tail(self):
        try:
            with open(os.path.join(self.base_dir, "server.log")) as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return "(no server log)"


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        raise SystemExit("usage: postgres.py start|stop STATE_DIR")
    state_path = os.path.join(argv[2], STATE_FILE)
    if argv[1] == "start":
        os.makedirs(argv[2], exist_ok=True)
        if os.path.exists(state_path):  # a run that died before its cleanup
            main([argv[0], "stop", argv[2]])
        server = PostgresServer().start()
        with open(state_path + ".tmp", "w") as f:
            json.dump(server.state(), f)
        os.replace(state_path + ".tmp", state_path)
        print("postgres.py: PostgreSQL on %s (data in %s)" % (server.url, server.data_dir))
        return
    try:
        with open(state_path) as f:
            state = json.load(f)
    except FileNotFoundError:
        print("postgres.py: no %s: nothing to stop" % state_path)
        return
    server = PostgresServer(state["port"], state["base_dir"])
    server.pid = state["pid"]
    server.stop()
    os.remove(state_path)
    print("postgres.py: stopped PostgreSQL on port %d" % state["port"])


if __name__ == "__main__":
    main(sys.argv)
