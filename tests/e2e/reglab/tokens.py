#!/usr/bin/env python3
"""Bearer-token server for the registry lab (stdlib + the openssl CLI).

GET /token?service=S&scope=repository:NAME:ACTIONS  answers {"token", "access_token",
"expires_in"}: a JWT (RS256) whose header carries the signing certificate as x5c, which the
registry verifies against its rootcertbundle. Anonymous requests get pull access; requests with
Basic credentials must match --user or get 401. POST /token with an OAuth2 form
(grant_type=refresh_token, refresh_token, service, scope: what docker sends for an identity token)
answers {"access_token"} for --user when the refresh token equals --refresh-token, else 401.
Each request is logged (user, "user/refresh" or "-", scope, status) to --log; never a secret.
"""
import argparse, base64, json, ssl, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der(path):
    pem = open(path).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(body.split()))


def sign(key_path, message):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path], input=message,
                          capture_output=True, check=True).stdout


def main():
    p = argparse.ArgumentParser()
    for name in ("--port", "--cert", "--key", "--signing-key", "--signing-cert", "--issuer",
                 "--service", "--user", "--log"):
        p.add_argument(name, required=True)
    p.add_argument("--refresh-token", default="")
    a = p.parse_args()
    header = b64url(json.dumps({"typ": "JWT", "alg": "RS256",
                                "x5c": [base64.b64encode(cert_der(a.signing_cert)).decode()]},
                               separators=(",", ":")).encode())

    def issue(subject, scopes):
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) == 3 and parts[0] == "repository":
                access.append({"type": "repository", "name": parts[1], "actions": ["pull", "push"]
                               if subject != "" else ["pull"]})
        now = int(time.time())
        claims = {"iss": a.issuer, "sub": subject, "aud": a.service, "iat": now, "nbf": now - 5,
                  "exp": now + 300, "jti": uuid.uuid4().hex, "access": access}
        signing_input = header + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
        return signing_input + "." + b64url(sign(a.signing_key, signing_input.encode()))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0") or 0)
            form = parse_qs(self.rfile.read(length).decode(errors="replace"))
            ok = (form.get("grant_type") == ["refresh_token"] and a.refresh_token != "" and
                  form.get("refresh_token") == [a.refresh_token])
            self.answer(form, a.user.split(":", 1)[0] + "/refresh" if ok else "-/refresh",
                        200 if ok else 401)

        def do_GET(self):
            query = parse_qs(urlsplit(self.path).query)
            user, status = "-", 200
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                pair = base64.b64decode(auth[6:]).decode(errors="replace")
                user = pair.split(":", 1)[0]
                if pair != a.user:
                    status = 401
            self.answer(query, user, status)

        def answer(self, query, user, status):
            with open(a.log, "a") as log:
                log.write(f"{user} {' '.join(query.get('scope', []))} {status}\n")
            if status != 200:
                body = b'{"details":"invalid credentials"}'
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="oci2eif lab tokens"')
            else:
                token = issue("" if user == "-" else user.split("/")[0], query.get("scope", []))
                body = json.dumps({"token": token, "access_token": token,
                                   "expires_in": 300}).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", int(a.port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
