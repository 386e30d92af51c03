#!/usr/bin/env python3
"""Fault-injecting HTTP proxy for the registry lab (stdlib only).

Forwards every request to --upstream (HOST:PORT, plain HTTP) and logs
"METHOD PATH STATUS FAULT START END" per request to --log (START/END: wall-clock seconds when the
request arrived and when its answer was sent, for checking which requests overlapped). Faults
apply to blob GETs (/v2/.../blobs/sha256:...) only (schema1: manifest GETs), the next COUNT of
them, as set through the control endpoint:
  POST /_fault?mode=MODE&arg=ARG&count=N     DELETE /_fault     GET /_fault (current rule)
DELETE also releases the bodies that `hold` is holding.
MODE: reset (send ARG body bytes, then a TCP reset), truncate (ARG bytes, clean close, full
Content-Length; bodies no longer than ARG pass untouched), status (answer ARG, e.g. 503, with Retry-After: 1), corrupt (flip one byte),
slow (ARG bytes per second), hold (ARG bytes per second, like slow, until DELETE /_fault;
then the rest at once: keeps a download, and so its build, going for as long as a test needs),
delay (wait ARG ms, then answer normally), schema1 (answer a manifest
GET with a Docker schema 1 manifest).
"""
import argparse, http.client, json, re, socket, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BLOB = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")
MANIFEST = re.compile(r"^/v2/.+/manifests/[^/]+$")
SCHEMA1 = json.dumps({"schemaVersion": 1, "name": "test/old", "tag": "latest",
                      "architecture": "amd64", "fsLayers": [], "history": []}).encode()
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--log", required=True)
    a = p.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    rule = {}
    lock = threading.Lock()
    released = threading.Event()  # set by DELETE: `hold` bodies go out at full speed

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def record(self, status, fault):
            self.status, self.fault = status, fault

        def handle_one(self):
            start = time.time()
            self.status, self.fault = None, None
            try:
                self.handle_any()
            finally:
                if self.status is not None:
                    with lock, open(a.log, "a") as log:
                        log.write(f"{self.command} {self.path} {self.status} {self.fault or '-'} "
                                  f"{start:.6f} {time.time():.6f}\n")

        def reply(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def control(self):
            with lock:
                if self.command == "POST":
                    q = parse_qs(urlsplit(self.path).query)
                    rule.clear()
                    rule.update(mode=q["mode"][0], arg=q.get("arg", ["0"])[0],
                                count=int(q.get("count", ["1"])[0]))
                    released.clear()
                elif self.command == "DELETE":
                    rule.clear()
                    released.set()
                body = json.dumps(rule).encode()
            self.reply(200, body, [("Content-Type", "application/json")])

        def take_fault(self):
            with lock:
                target = MANIFEST if rule.get("mode") == "schema1" else BLOB
                if self.command == "GET" and target.match(self.path) and rule.get("count", 0) > 0:
                    rule["count"] -= 1
                    return rule["mode"], rule["arg"]
            return None, None

        def handle_any(self):
            if self.path.startswith("/_fault"):
                return self.control()
            mode, arg = self.take_fault()
            if mode == "schema1":
                self.record(200, mode)
                return self.reply(200, SCHEMA1, [("Content-Type", "application/json")])
            if mode == "delay":
                time.sleep(int(arg) / 1000)
            if mode == "status":
                self.record(int(arg), mode)
                return self.reply(int(arg), b'{"errors":[{"code":"UNAVAILABLE","message":"lab fault"}]}',
                                  [("Retry-After", "1"), ("Content-Type", "application/json")])
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            up = conn.getresponse()
            data = up.read()
            conn.close()
            if mode in ("reset", "truncate") and len(data) <= int(arg):
                with lock:  # too small to cut: let it pass and keep the fault for a later blob
                    rule["count"] = rule.get("count", 0) + 1
                mode = None
            self.record(up.status, mode)
            self.send_response(up.status)
            for k, v in up.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            declared = up.getheader("Content-Length")
            self.send_header("Content-Length", declared if declared is not None else str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if mode == "corrupt" and data:
                data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:]
            if mode in ("reset", "truncate"):
                self.wfile.write(data[:int(arg)])
                self.wfile.flush()
                if mode == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            if mode in ("slow", "hold"):
                step = max(1, int(arg) // 10)  # ten writes a second
                sent = 0
                while sent < len(data) and not (mode == "hold" and released.is_set()):
                    self.wfile.write(data[sent:sent + step])
                    self.wfile.flush()
                    sent += step
                    time.sleep(0.1)
                self.wfile.write(data[sent:])
                return
            self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        def handle_one_request(self):
            try:
                super().handle_one_request()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
