#!/usr/bin/env python3
"""Static file server for the lab's redirect target (stdlib only), standing in for blob storage.

Serves --directory read-only and logs "METHOD PATH STATUS AUTH" per request to --log, where AUTH
is "auth" when the request carried an Authorization header and "-" otherwise. Like S3 given a
second credential, it answers 400 to a request that carries one: a client that forwards its
registry credentials on a cross-origin redirect fails here.
"""
import argparse, functools, sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--directory", required=True)
    p.add_argument("--log", required=True)
    a = p.parse_args()

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def log_request(self, code="-", size="-"):
            auth = "auth" if "Authorization" in self.headers else "-"
            with open(a.log, "a") as log:
                log.write(f"{self.command} {self.path} {int(code)} {auth}\n")

        def guarded(self, serve):
            if "Authorization" in self.headers:
                return self.send_error(400, "credentials forwarded to the blob store")
            return serve()

        def do_GET(self):
            self.guarded(super().do_GET)

        def do_HEAD(self):
            self.guarded(super().do_HEAD)

    handler = functools.partial(Handler, directory=a.directory)
    ThreadingHTTPServer(("127.0.0.1", a.port), handler).serve_forever()


if __name__ == "__main__":
    sys.exit(main())
