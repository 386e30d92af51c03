#!/usr/bin/env python3
"""End-to-end checks of signing with a key that never sits in a file: a P-384 key generated
inside a real SoftHSM2 token (its own token directory, SOFTHSM2_CONF), reached through PKCS#11.

  - the certificate is made by OpenSSL through the token (engine pkcs11, the key never leaves it)
  - `oci2eif assemble --private-key pkcs11:…` with no module-path (p11-kit's proxy, which finds
    SoftHSM2 registered with p11-kit) and `oci2eif build` with module-path and pin-source: the EIF
    verifies (`describe`: SignatureCheck) and PCR8 equals `oci2eif pcr` of the PEM certificate
  - a wrong PIN, a missing object, a missing token and a missing module each exit 1 with a
    message naming the URI (never the PIN) and leave no output file; a certificate the token's key
    does not belong to exits 2
  - `oci2eif serve` with two signing keys of one module given as pkcs11: URIs signs a build with
    each (the second key's load must not end the first one's session); with a wrong PIN it
    refuses to start (exit 2) naming the key

usage: pkcs11_e2e.py OCI2EIF_BINARY   (softhsm2, opensc, libengine-pkcs11-openssl,
                                       p11-kit-modules, the Debian cloud kernel in /boot)
Last line: "N passed, M failed".
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from fixtures import make_kernel_bundle, make_test_images  # noqa: E402
from ports import free_port  # noqa: E402
from serve_e2e import READ, Daemon, write_tokens  # noqa: E402

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INPUTS = os.path.join(TESTS, "data", "eif-vectors", "inputs")
PIN = "715243"
KEY_URI = "pkcs11:token=oci2eif-test;object=eif-key"


def run(cmd, timeout=300, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def softhsm_module():
    """SoftHSM2's PKCS#11 module, where Debian puts it."""
    found = sorted(glob.glob("/usr/lib/*/softhsm/libsofthsm2.so")) + \
        sorted(glob.glob("/usr/lib/softhsm/libsofthsm2.so"))
    if not found:
        raise SystemExit("no libsofthsm2.so: run scripts/install-deps.sh (softhsm2)")
    return found[0]


def must(cmd, what):
    r = run(cmd)
    if r.returncode != 0:
        raise SystemExit("%s failed (%s): %s%s" % (what, " ".join(cmd[:2]), r.stdout, r.stderr))
    return r


def make_token(work):
    """A fresh SoftHSM2 token holding a P-384 key pair made inside it, and a self-signed
    certificate for that key made through the token. Sets SOFTHSM2_CONF for this process and
    the oci2eif processes it starts. Returns the certificate's path."""
    tokens = os.path.join(work, "softhsm-tokens")
    os.makedirs(tokens)
    conf = os.path.join(work, "softhsm2.conf")
    with open(conf, "w") as f:
        f.write("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n" % tokens)
    os.environ["SOFTHSM2_CONF"] = conf
    must(["softhsm2-util", "--init-token", "--free", "--label", "oci2eif-test", "--pin", PIN,
          "--so-pin", "12345678"], "softhsm2-util --init-token")
    must(["pkcs11-tool", "--module", softhsm_module(), "--token-label", "oci2eif-test", "--login",
          "--pin", PIN, "--keypairgen", "--key-type", "EC:secp384r1", "--label", "eif-key",
          "--id", "01"], "pkcs11-tool --keypairgen")
    cert = os.path.join(work, "token-cert.pem")
    must(["openssl", "req", "-new", "-x509", "-engine", "pkcs11", "-keyform", "engine",
          "-key", KEY_URI + ";type=private?pin-value=" + PIN, "-subj", "/CN=oci2eif pkcs11 test",
          "-days", "2", "-out", cert], "openssl req through the token")
    return cert


class Env:
    def __init__(self, binary, work):
        self.bin, self.work = binary, work
        self.cert = make_token(work)
        self.counter = 0
        r = must([binary, "pcr", "--signing-certificate", self.cert], "oci2eif pcr")
        self.pcr8 = json.loads(r.stdout)["PCR8"]

    def assemble(self, private_key, cert=None):
        """`oci2eif assemble` of the AWS vectors' inputs, signed; (process, output path)."""
        self.counter += 1
        out = os.path.join(self.work, "assembled-%d.eif" % self.counter)
        r = run([self.bin, "assemble", "--kernel", os.path.join(INPUTS, "kernel.bin"),
                 "--cmdline", "console=ttyS0", "--ramdisk", os.path.join(INPUTS, "ramdisk-bootstrap.cpio"),
                 "--output", out, "--signing-certificate", cert or self.cert, "--private-key", private_key])
        return r, out

    def described(self, eif):
        d = run([self.bin, "describe", "--json", eif])
        return json.loads(d.stdout) if d.returncode == 0 else {"stderr": d.stderr}


def verifies_with_token_pcr8(e, r, eif):
    """Whether a signing command succeeded, printed the certificate's PCR8, and its EIF verifies."""
    if r.returncode != 0:
        return False
    d = e.described(eif)
    return (json.loads(r.stdout)["Measurements"].get("PCR8") == e.pcr8
            and d.get("SignatureCheck") is True and d["Measurements"].get("PCR8") == e.pcr8)


def check_assemble_through_p11_kit(e):
    r, eif = e.assemble(KEY_URI + "?pin-value=" + PIN)
    check("assemble signs with the token's key through p11-kit's proxy; the EIF verifies and its "
          "PCR8 is the PEM certificate's", verifies_with_token_pcr8(e, r, eif), r.stderr)


def check_build_with_module_path(e):
    pin_file = os.path.join(e.work, "pin")
    with open(pin_file, "w") as f:
        f.write(PIN + "\n")
    images = make_test_images(os.path.join(e.work, "images"))
    kernel = make_kernel_bundle(os.path.join(e.work, "kernel"))
    eif = os.path.join(e.work, "built.eif")
    uri = "%s;id=%%01?pin-source=file:%s&module-path=%s" % (KEY_URI, pin_file, softhsm_module())
    r = run([e.bin, "build", "--oci-layout", os.path.join(images, "busybox") + ":latest",
             "--kernel-dir", kernel, "--output", eif, "--signing-certificate", e.cert,
             "--private-key", uri])
    check("build signs with the token's key named by module-path and pin-source; the EIF verifies "
          "and its PCR8 is the PEM certificate's", verifies_with_token_pcr8(e, r, eif), r.stderr)
    return images, kernel


def check_failure(e, what, private_key, code, message, cert=None):
    r, eif = e.assemble(private_key, cert)
    check(what + ": exit %d, '%s', no PIN echoed, no output file" % (code, message),
          r.returncode == code and message in r.stderr and PIN not in r.stderr and "9999" not in r.stderr
          and not os.path.exists(eif), (r.returncode, r.stderr))


def check_failures(e):
    check_failure(e, "a wrong PIN", KEY_URI + "?pin-value=9999", 1,
                  KEY_URI + ": the token refused the PIN (wrong PIN)")
    check_failure(e, "a missing object", "pkcs11:token=oci2eif-test;object=nope?pin-value=" + PIN, 1,
                  "pkcs11:token=oci2eif-test;object=nope: no such private key on the token "
                  "'oci2eif-test' (private keys there: 'eif-key')")
    check_failure(e, "a missing token", "pkcs11:token=nope;object=eif-key?pin-value=" + PIN, 1,
                  "pkcs11:token=nope;object=eif-key: no such token in the PKCS#11 module")
    check_failure(e, "a missing module",
                  KEY_URI + "?pin-value=%s&module-path=/nonexistent/libnothing.so" % PIN, 1,
                  KEY_URI + ": the PKCS#11 module /nonexistent/libnothing.so does not exist")
    check_failure(e, "no PIN", KEY_URI, 1, KEY_URI + ": the token needs a PIN")
    check_failure(e, "a certificate the token's key does not belong to",
                  KEY_URI + "?pin-value=" + PIN, 2,
                  KEY_URI + ": this private key does not belong to the certificate",
                  cert=os.path.join(INPUTS, "signing-cert-p384.pem"))


def write_config(work, name, cert, **keys):
    """A serve configuration naming each of `keys` (name=private_key) a signing key of `cert`."""
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump({"signing_keys": [{"name": k, "certificate": cert, "private_key": v}
                                    for k, v in keys.items()]}, f)
    return path


def check_served_build(e, daemon, images, key):
    status, b, _ = daemon.request("POST", "/v1/builds", {
        "image": "oci-layout:%s/busybox:latest" % images, "signing_key": key,
        "labels": {"key": key}})
    done = daemon.wait(b["id"], ("succeeded", "failed")) if status in (200, 202) else None
    ok = done is not None and done["state"] == "succeeded" and done["pcrs"].get("PCR8") == e.pcr8
    described = {}
    if ok:
        status, eif, _ = daemon.request("GET", "/v1/builds/%s/artifacts/image.eif" % b["id"],
                                        token=READ, raw=True)
        path = os.path.join(e.work, "served-%s.eif" % key)
        with open(path, "wb") as f:
            f.write(eif)
        described = e.described(path)
    check("serve signs a build with its signing key '%s', held in the token; the EIF verifies" % key,
          ok and described.get("SignatureCheck") is True, (status, done, described))


def check_serve(e, images, kernel):
    bad = write_config(e.work, "bad-pin", e.cert, hsm=KEY_URI + "?pin-value=9999")
    r = run([e.bin, "serve", "--config", bad, "--listen", "127.0.0.1:%d" % free_port(),
             "--data-dir", os.path.join(e.work, "bad-data"), "--kernel-dir", "cloud=" + kernel],
            timeout=60)
    check("serve refuses a token key with a wrong PIN (exit 2), naming the key and the URI",
          r.returncode == 2 and "signing key 'hsm': " + KEY_URI + ": the token refused the PIN"
          in r.stderr and "9999" not in r.stderr, (r.returncode, r.stderr[-500:]))
    write_tokens(e.work)
    daemon = Daemon(e.bin, e.work, kernel, free_port())
    # Two keys of one module: the second must not end the first one's session.
    daemon.cmd += ["--config", write_config(
        e.work, "good", e.cert, hsm="%s?pin-value=%s&module-path=%s" % (KEY_URI, PIN, softhsm_module()),
        **{"by-id": "pkcs11:token=oci2eif-test;id=%%01?pin-value=%s&module-path=%s"
           % (PIN, softhsm_module())})]
    daemon.start()
    try:
        check_served_build(e, daemon, images, "hsm")
        check_served_build(e, daemon, images, "by-id")
    finally:
        daemon.stop()


def main():
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="pkcs11-e2e-")
    try:
        e = Env(binary, work)
        check_assemble_through_p11_kit(e)
        check_failures(e)
        images, kernel = check_build_with_module_path(e)
        check_serve(e, images, kernel)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
