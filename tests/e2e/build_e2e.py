#!/usr/bin/env python3
"""End-to-end checks of `oci2eif build` on the project's own test images.

Everything is real: the images come from tests/images/make_images.py, the flattened trees are
compared with `umoci unpack`, the EIFs are checked by `oci2eif describe`, and the busybox EIF's
kernel and ramdisks are booted under QEMU with Debian's cloud kernel, whose console must show
what the image's app prints. Expected values come from the generator's manifest.json (written
from the image definitions, not from oci2eif).

usage: build_e2e.py OCI2EIF_BINARY   (root; python3, umoci, qemu-system-x86, the cloud kernel)
Last line: "N passed, M failed".
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from fixtures import boot_eif, busybox_console, make_kernel_bundle, make_test_images  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "images"))
import hostile_layers  # noqa: E402
import imagelib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)




def run(cmd, timeout=300, env=None, cwd=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


class Env:
    def __init__(self, binary, work):
        self.bin = binary
        self.work = work
        self.images = make_test_images(os.path.join(work, "images"))
        with open(os.path.join(self.images, "manifest.json")) as f:
            self.manifest = json.load(f)["images"]
        self.kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        self.counter = 0

    def build(self, source_flag, location, *extra, env=None, cwd=None):
        """Builds an EIF; returns (returncode, measurements or None, eif path, stderr)."""
        self.counter += 1
        out = os.path.join(self.work, "out-%d.eif" % self.counter)
        r = run([self.bin, "build", source_flag, location, "--kernel-dir", self.kernel_dir,
                 "--output", out, *extra], env=env, cwd=cwd)
        pcrs = json.loads(r.stdout)["Measurements"] if r.returncode == 0 else None
        return r.returncode, pcrs, out, r.stderr

    def layout(self, name):
        return os.path.join(self.images, name) + ":latest"

    def boot(self, eif, expect, name):
        extracted, booted, detail = boot_eif(self.bin, eif, expect)
        if check(name + ": describe validates the EIF", extracted, detail):
            check(name + ": boots under QEMU and prints " + "; ".join(expect), booted, detail)


def pcrs_equal(a, b):
    return a is not None and b is not None and all(a[k] == b[k] for k in ("PCR0", "PCR1", "PCR2"))


def test_boot_and_overrides(e):
    rc, pcrs, eif, err = e.build("--oci-layout", e.layout("busybox"))
    if not check("busybox builds", rc == 0, err):
        return None
    e.boot(eif, busybox_console(e.images), "busybox")
    rc, _, eif2, err = e.build("--oci-layout", e.layout("busybox"), "--cmd", "override arg",
                               "--env", "GREETING=changed", "--compress", "gzip")
    if check("busybox with --cmd, --env and gzip ramdisks builds", rc == 0, err):
        e.boot(eif2, ["argv: [override arg]", "greeting: changed", "pwd: /work"], "overrides")
    # data/link.txt sorts first and carries the bytes; data/original.txt is stored with size 0
    # and the same inode, so its content can only come from the unpacker making it a hardlink.
    script = 'echo "second name: $(cat /data/original.txt)"; ls -i /data'
    rc, _, eif3, err = e.build("--oci-layout", e.layout("busybox"), "--entrypoint", "/bin/sh",
                               "--cmd", "-c", "--cmd", script)
    if check("busybox with --entrypoint builds", rc == 0, err):
        e.boot(eif3, ["second name: hardlink content", "exited with status 0"], "hardlink")
    return pcrs


def test_docker_run_parity(e):
    """What `podman run` shows: a command with a line break, groups with the primary gid, HOME
    from /etc/passwd, and a WORKDIR the layers lack (created in the ramdisk at build time)."""
    rc, _, eif, err = e.build("--oci-layout", e.layout("docker-run"))
    if not check("docker-run builds (a command with a line break)", rc == 0, err):
        return
    check("the build log says the missing WORKDIR was created",
          "WORKDIR /srv/app is not in the image: created /srv/app (0755, root)" in err, err[-600:])
    e.boot(eif, busybox_console(e.images, "docker-run"), "docker-run")
    home = 'echo "home: $HOME"'
    rc, _, eif, err = e.build("--oci-layout", e.layout("docker-run"), "--env", "HOME=/custom",
                              "--entrypoint", "/bin/sh", "--cmd", "-c", "--cmd", home)
    if check("docker-run with HOME in its environment builds", rc == 0, err):
        e.boot(eif, ["home: /custom", "exited with status 0"], "an image's own HOME is kept")


def test_aarch64(e):
    # The arm64 entry of a multi-arch index, with an opaque kernel stand-in: the EIF must carry
    # the arm64 image, the aarch64 flag and our aarch64 init in the bootstrap ramdisk. (Booting
    # an aarch64 EIF with a real arm64 kernel is aarch64_e2e.py.)
    bundle = os.path.join(e.work, "kernel-arm64")
    os.makedirs(bundle)
    with open(os.path.join(bundle, "Image"), "wb") as f:
        f.write(b"arm64 kernel stand-in")
    e.counter += 1
    out = os.path.join(e.work, "arm.eif")
    # No --arch: a bundle with only an Image is an aarch64 bundle.
    r = run([e.bin, "build", "--oci-layout", e.layout("multiarch"),
             "--kernel-dir", bundle, "--output", out, "--rootfs-listing", out + ".txt"])
    if not check("multiarch builds for aarch64, the arch taken from the Image-only bundle",
                 r.returncode == 0, r.stderr):
        return
    x86 = run([e.bin, "build", "--oci-layout", e.layout("multiarch"), "--arch", "x86_64",
               "--kernel-dir", bundle, "--output", out + ".x86"])
    check("an explicit --arch x86_64 wins over the bundle, and then its bzImage is missing",
          x86.returncode == 1 and "has no bzImage (the x86_64 kernel)" in x86.stderr
          and not os.path.exists(out + ".x86"), x86.stderr)
    d = run([e.bin, "describe", "--json", out, "--extract", out + ".x"])
    info = json.loads(d.stdout)
    boot = open(os.path.join(out + ".x", "ramdisk-0"), "rb").read()
    check("the aarch64 EIF has the arm64 flag, nitro-cli's arm64 cmdline and an aarch64 init",
          d.returncode == 0 and open(out, "rb").read(8)[7] == 1
          and open(os.path.join(out + ".x", "cmdline")).read().endswith("root=/dev/ram0")
          and b"\x7fELF\x02\x01\x01" in boot and b"\xb7\x00" in boot[boot.find(b"\x7fELF"):][18:20],
          d.stderr)
    check("the aarch64 EIF holds the arm64 image's tree",
          "etc/arch\tfile" in open(out + ".txt").read() and "arm64" in r.stderr)


def test_reproducible(e, reference):
    rc, pcrs, eif_a, err = e.build("--oci-layout", e.layout("busybox"))
    other_cwd = tempfile.mkdtemp(dir=e.work)
    env = dict(os.environ, TZ="Pacific/Kiritimati", LC_ALL="C.UTF-8", TMPDIR=other_cwd)
    r = subprocess.run(["bash", "-c", "umask 077 && exec \"$@\"", "-", e.bin, "build", "--oci-layout",
                        e.layout("busybox"), "--kernel-dir", e.kernel_dir, "--output",
                        os.path.join(other_cwd, "b.eif")], capture_output=True, text=True,
                       env=env, cwd=other_cwd, timeout=300)
    same = r.returncode == 0 and open(eif_a, "rb").read() == open(os.path.join(other_cwd, "b.eif"), "rb").read()
    check("the same image built in another directory, TZ, umask and locale is byte-identical", same, r.stderr)
    check("repeat builds give the same PCRs", pcrs_equal(pcrs, reference))
    eifs = {}
    for threads in ("1", "4"):
        rc, pcrs, eif, err = e.build("--oci-layout", e.layout("busybox"), "--threads", threads)
        eifs[threads] = open(eif, "rb").read() if rc == 0 else None
    check("built with 1 and with 4 threads: the same bytes as the default build",
          eifs["1"] is not None and eifs["1"] == eifs["4"] == open(eif_a, "rb").read())


def test_same_tree_same_pcrs(e, reference):
    b = e.manifest["busybox"]
    cases = [("--oci-layout", e.layout("busybox-relayered"), "another layering of the same filesystem"),
             ("--oci-layout", e.layout("schema2"), "Docker schema2 media types"),
             ("--oci-layout", e.layout("zstd"), "a zstd layer"),
             ("--oci-archive", os.path.join(e.images, b["oci_archive"]) + ":latest", "the oci-archive"),
             ("--docker-archive", os.path.join(e.images, b["docker_archive"]), "the docker-archive")]
    for flag, location, what in cases:
        rc, pcrs, _, err = e.build(flag, location)
        check(what + " gives busybox's PCRs", rc == 0 and pcrs_equal(pcrs, reference), err)


def test_signed(e, reference):
    inputs = os.path.join(TESTS, "data", "eif-vectors", "inputs")
    rc, pcrs, eif, err = e.build("--oci-layout", e.layout("busybox"),
                                 "--signing-certificate", os.path.join(inputs, "signing-cert-p384.pem"),
                                 "--private-key", os.path.join(inputs, "signing-key-p384.pem"))
    with open(os.path.join(TESTS, "data", "eif-vectors", "vectors.json")) as f:
        pcr8 = json.load(f)["vectors"]["c"]["measurements"]["PCR8"]
    d = run([e.bin, "describe", "--json", eif])
    described = json.loads(d.stdout) if d.returncode == 0 else {}
    check("a signed build keeps PCR0-2, adds the certificate's PCR8 and verifies",
          rc == 0 and pcrs_equal(pcrs, reference) and pcrs.get("PCR8") == pcr8
          and described.get("SignatureCheck") is True, err + d.stderr)


def test_metadata(e, reference):
    path = os.path.join(e.work, "metadata.json")
    with open(path, "w") as f:
        json.dump({"team": "enclaves", "ticket": 42}, f)
    rc, pcrs, eif, err = e.build("--oci-layout", e.layout("busybox"), "--metadata", path)
    d = run([e.bin, "describe", "--json", eif])
    meta = json.loads(d.stdout).get("Metadata", {}) if d.returncode == 0 else {}
    check("--metadata adds the caller's keys beside the image's, PCRs unchanged",
          rc == 0 and pcrs_equal(pcrs, reference) and meta.get("team") == "enclaves" and
          meta.get("ticket") == 42 and meta.get("ImagePlatform") == "linux/amd64", (err, meta))
    with open(path, "w") as f:
        json.dump({"ImageConfigDigest": "sha256:forged"}, f)
    rc, _, eif, err = e.build("--oci-layout", e.layout("busybox"), "--metadata", path)
    check("--metadata may not set a key oci2eif writes (exit 2, no EIF)",
          rc == 2 and "custom metadata key 'ImageConfigDigest' is reserved" in err and
          not os.path.exists(eif), err)


def diff_json(e, a, b):
    r = run([e.bin, "diff", "--json", a, b])
    return (json.loads(r.stdout) if r.returncode == 0 else {}), r


def test_diff(e):
    """oci2eif diff on real builds that differ in one thing each names that thing alone."""
    inputs = os.path.join(TESTS, "data", "eif-vectors", "inputs")
    builds = {}
    for name, extra in (("base", ()), ("env", ("--env", "GREETING=changed")),
                        ("gzip", ("--compress", "gzip")),
                        ("signed", ("--signing-certificate", os.path.join(inputs, "signing-cert-p384.pem"),
                                    "--private-key", os.path.join(inputs, "signing-key-p384.pem")))):
        rc, _, eif, err = e.build("--oci-layout", e.layout("busybox"), *extra)
        if not check("diff input '%s' builds" % name, rc == 0, err):
            return
        builds[name] = eif
    d, r = diff_json(e, builds["base"], builds["env"])
    changes = d.get("changes", [])
    check("diff of an --env change names that variable alone, under PCR0 and PCR2",
          len(changes) == 1 and changes[0]["subject"] == "env" and changes[0]["path"] == "GREETING"
          and changes[0]["b"] == "GREETING=changed" and changes[0]["pcrs"] == ["PCR0", "PCR2"]
          and d["measurements"]["PCR1"]["changed"] is False, (r.stderr, changes))
    human = run([e.bin, "diff", builds["base"], builds["env"]])
    check("the human diff says the same",
          human.returncode == 0 and 'env GREETING changed' in human.stdout, human.stdout + human.stderr)
    d, r = diff_json(e, builds["base"], builds["gzip"])
    subjects = sorted((c["subject"], c.get("path")) for c in d.get("changes", []))
    check("gzip ramdisks read as the same members: only the archives' bytes differ",
          subjects == [("archive", "application ramdisks"), ("archive", "bootstrap ramdisk")],
          (r.stderr, subjects))
    d, r = diff_json(e, builds["base"], builds["signed"])
    changes = d.get("changes", [])
    check("signing adds only the certificate, under PCR8",
          len(changes) == 1 and changes[0]["subject"] == "certificate" and
          changes[0]["change"] == "added" and changes[0]["pcrs"] == ["PCR8"], (r.stderr, changes))
    not_eif = os.path.join(e.work, "not.eif")
    with open(not_eif, "wb") as f:
        f.write(b"not an eif")
    r = run([e.bin, "diff", builds["base"], not_eif])
    check("diff of a file that is not an EIF exits 1 naming it",
          r.returncode == 1 and not_eif in r.stderr and not r.stdout, r.stderr)

def pae(payload_type, body):
    """DSSE's pre-authentication encoding, from protocol.md (independent of oci2eif's)."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def layout_digests(layout_dir):
    """The manifest and layer digests of an OCI layout's only image, read from its index."""
    with open(os.path.join(layout_dir, "index.json")) as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(layout_dir, "blobs", "sha256", manifest_digest.split(":")[1])) as f:
        manifest = json.load(f)
    return manifest_digest, [layer["digest"] for layer in manifest["layers"]]


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_provenance(e):
    """build --provenance writes a DSSE-signed SLSA statement that openssl verifies on its own,
    and `oci2eif verify` tells a forged statement, another file and other PCRs apart."""
    inputs = os.path.join(TESTS, "data", "eif-vectors", "inputs")
    cert = os.path.join(inputs, "signing-cert-p384.pem")
    key = os.path.join(inputs, "signing-key-p384.pem")
    lines, eifs = [], []
    for n in (1, 2):
        prov = os.path.join(e.work, "provenance-%d.intoto.jsonl" % n)
        rc, pcrs, eif, err = e.build("--oci-layout", e.layout("busybox"), "--signing-certificate",
                                     cert, "--private-key", key, "--provenance", prov)
        if not check("build --provenance (%d) succeeds" % n, rc == 0 and os.path.exists(prov), err):
            return
        with open(prov, "rb") as f:
            lines.append(f.read())
        eifs.append((eif, pcrs))
    eif, pcrs = eifs[0]
    envelope = json.loads(lines[0])
    statement_bytes = base64.b64decode(envelope["payload"])
    statement = json.loads(statement_bytes)
    second = json.loads(base64.b64decode(json.loads(lines[1])["payload"]))
    # A signed EIF's own COSE signature is randomised (ECDSA), so its sha256 differs per build;
    # everything else in the statement is the same.
    check("the same build gives the same statement but for the EIF's name and sha256",
          second["predicate"] == statement["predicate"]
          and second["subject"][0]["annotations"] == statement["subject"][0]["annotations"]
          and lines[0].endswith(b"\n") and lines[0].count(b"\n") == 1, (statement, second))

    pub = os.path.join(e.work, "signer.pub.pem")
    r = run(["openssl", "x509", "-pubkey", "-noout", "-in", cert])
    with open(pub, "w") as f:
        f.write(r.stdout)
    with open(os.path.join(e.work, "pae.bin"), "wb") as f:
        f.write(pae(envelope["payloadType"], statement_bytes))
    with open(os.path.join(e.work, "sig.der"), "wb") as f:
        f.write(base64.b64decode(envelope["signatures"][0]["sig"]))
    r = run(["openssl", "dgst", "-sha384", "-verify", pub, "-signature",
             os.path.join(e.work, "sig.der"), os.path.join(e.work, "pae.bin")])
    check("openssl verifies the DSSE signature over the PAE bytes with the certificate's key",
          r.returncode == 0 and "Verified OK" in r.stdout, r.stdout + r.stderr)

    subject = statement["subject"][0]
    check("the statement is in-toto v1 / SLSA v1 about this EIF and its PCRs",
          statement["_type"] == "https://in-toto.io/Statement/v1"
          and statement["predicateType"] == "https://slsa.dev/provenance/v1"
          and subject["digest"]["sha256"] == sha256_file(eif)
          and all(subject["annotations"][k] == pcrs[k] for k in ("PCR0", "PCR1", "PCR2", "PCR8")),
          (subject, pcrs))
    manifest_digest, layers = layout_digests(os.path.join(e.images, "busybox"))
    deps = {d["name"]: d["digest"]["sha256"]
            for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]}
    expected = {"image manifest": manifest_digest.split(":")[1],
                "kernel": sha256_file(os.path.join(e.kernel_dir, "bzImage")),
                "kernel config": sha256_file(os.path.join(e.kernel_dir, "bzImage.config"))}
    expected.update({"layer %d" % (i + 1): d.split(":")[1] for i, d in enumerate(layers)})
    check("resolvedDependencies hold the manifest, every layer, the kernel and its config, init",
          all(deps.get(k) == v for k, v in expected.items()) and "init" in deps, (deps, expected))

    prov = os.path.join(e.work, "provenance-1.intoto.jsonl")

    def verify(target, *extra):
        return run([e.bin, "verify", target, "--provenance", prov, *extra])

    r = verify(eif, "--certificate", cert, "--expect-pcr0", pcrs["PCR0"])
    check("verify: 0 for the EIF, its provenance and its PCR0", r.returncode == 0, r.stdout + r.stderr)
    r = verify(eif, "--key", pub)
    check("verify --key: 0 with the PEM public key", r.returncode == 0, r.stdout + r.stderr)
    r = verify(eif, "--certificate", cert, "--expect-pcr0", "00" * 48)
    check("verify: 5 when PCR0 is not the expected one", r.returncode == 5 and "PCR0" in r.stdout,
          r.stdout + r.stderr)
    tampered = os.path.join(e.work, "tampered.eif")
    with open(eif, "rb") as f:
        data = bytearray(f.read())
    data[-1] ^= 1
    with open(tampered, "wb") as f:
        f.write(data)
    r = verify(tampered, "--certificate", cert)
    check("verify: 4 for a changed EIF (the statement is about another file)",
          r.returncode == 4, r.stdout + r.stderr)
    other_key = os.path.join(e.work, "other.key")
    other_cert = os.path.join(e.work, "other.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384",
         "-nodes", "-keyout", other_key, "-out", other_cert, "-subj", "/CN=other", "-days", "1"])
    r = verify(eif, "--certificate", other_cert)
    check("verify: 3 with another signer's certificate", r.returncode == 3, r.stdout + r.stderr)
    forged = dict(envelope)
    statement["predicate"]["buildDefinition"]["externalParameters"]["image"] = "forged"
    forged["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    forged_path = os.path.join(e.work, "forged.intoto.jsonl")
    with open(forged_path, "w") as f:
        f.write(json.dumps(forged) + "\n")
    r = run([e.bin, "verify", eif, "--provenance", forged_path, "--certificate", cert])
    check("verify: 3 for an edited statement under the old signature", r.returncode == 3,
          r.stdout + r.stderr)
    r = run([e.bin, "verify", eif, "--provenance", prov])
    check("verify without --certificate or --key is a usage error (2)", r.returncode == 2, r.stderr)
    lonely = os.path.join(e.work, "unsigned.intoto.jsonl")
    rc, _, _, err = e.build("--oci-layout", e.layout("busybox"), "--provenance", lonely)
    check("build --provenance without a signing key exits 2 and writes nothing",
          rc == 2 and "--provenance" in err and not os.path.exists(lonely), err)


def enclave_listing(umoci_listing, layout):
    """umoci's listing of the image plus what the enclave's root adds (docs/init.md): the
    mount points init needs and the missing WORKDIR with its parents, 0755 and root's."""
    with open(os.path.join(layout, "index.json")) as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    blob = lambda d: os.path.join(layout, "blobs", "sha256", d.split(":", 1)[1])
    with open(blob(manifest_digest)) as f:
        config_digest = json.load(f)["config"]["digest"]
    with open(blob(config_digest)) as f:
        workdir = json.load(f).get("config", {}).get("WorkingDir", "")
    rows = {line.split("\t")[0]: line for line in umoci_listing.splitlines()}
    parts = [p for p in workdir.split("/") if p]
    added = ["dev", "proc", "run", "sys", "tmp", "var"] + \
        ["/".join(parts[:i + 1]) for i in range(len(parts))]
    for path in added:
        rows.setdefault(path, "\t".join([path, "dir", "0755", "0:0", "0", "-", "-"]))
    return "".join(rows[p] + "\n" for p in sorted(rows, key=lambda p: p.encode()))


def test_matches_umoci(e):
    for name, image in sorted(e.manifest.items()):
        umoci = image.get("umoci", {})
        if umoci.get("unpack") != "ok":
            continue
        ref = os.path.join(e.work, "umoci-%s.txt" % name)
        r1 = run(["bash", os.path.join(HERE, "umoci_reference.sh"), os.path.join(e.images, name), "latest", ref])
        p = image["platforms"][0]["platform"]
        platform = "/".join(x for x in (p["os"], p["architecture"], p.get("variant", "")) if x)
        r2 = run([e.bin, "rootfs", "--oci-layout", e.layout(name), "--platform", platform])
        same = r1.returncode == 0 and r2.returncode == 0 and \
            enclave_listing(open(ref).read(), os.path.join(e.images, name)) == r2.stdout
        check("%s: flattened tree equals umoci's unpack (paths, types, modes, owners, links, "
              "content) plus the enclave's mount points and WORKDIR" % name,
              same, (r1.stderr + r2.stderr)[-800:])
        # build hashes contents only for --rootfs-listing: its listing is the same one.
        listing = os.path.join(e.work, "build-%s.txt" % name)
        code, _, _, err = e.build("--oci-layout", e.layout(name), "--platform", platform,
                                  "--rootfs-listing", listing)
        check("%s: build --rootfs-listing writes that listing, content digests included" % name,
              code == 0 and r2.returncode == 0 and open(listing).read() == r2.stdout, err[-800:])


def test_platforms(e):
    per = e.manifest["multiarch"]["expect"]["per_platform"]
    for platform, facts in sorted(per.items()):
        r = run([e.bin, "rootfs", "--oci-layout", e.layout("multiarch"), "--platform", platform])
        lines = {l.split("\t")[0]: l.split("\t") for l in r.stdout.splitlines()}
        ok = r.returncode == 0 and all(p in lines for p in facts["present"]) and \
            not any(p in lines for p in facts["absent"])
        check("multiarch resolves " + platform, ok, r.stderr)
    r = run([e.bin, "rootfs", "--oci-layout", e.layout("multiarch"), "--platform", "linux/s390x"])
    check("a missing platform is an error listing the ones present",
          r.returncode != 0 and "has no image for platform linux/s390x; it has: linux/amd64, linux/arm64/v8" in r.stderr,
          r.stderr)


def test_bad_images(e):
    for name, needle in (("bad-digest", "content has digest"), ("bad-diffid", "(diff_id): content has digest")):
        rc, _, eif, err = e.build("--oci-layout", e.layout(name))
        blob = e.manifest[name]["expect"]["error"].get("blob") or e.manifest[name]["expect"]["error"]["declared"]
        check(name + ": the build fails naming the blob and writes no EIF",
              rc != 0 and needle in err and blob in err and not os.path.exists(eif), err)


def test_impossible_layer_size(e):
    # A layer whose tar header declares 1 PiB is a bad file, not a bad command line: exit 1
    # (as for any corrupt input), a code that names the limit, and no EIF.
    lay = imagelib.Layout()
    b = imagelib.build_image(lay, [(hostile_layers.CASES["huge-size"][0](), "gzip")],
                             {"Cmd": ["/bin/sh"]})
    lay.tag({k: v for k, v in b.desc.items() if k != "platform"})
    lay.write(os.path.join(e.work, "huge-layout"))
    rc, _, eif, err = e.build("--oci-layout", os.path.join(e.work, "huge-layout") + ":latest")
    check("a layer declaring 1 PiB exits 1 naming the entry and the limit, and writes no EIF",
          rc == 1 and "huge.bin" in err and "beyond the image size limit" in err
          and not os.path.exists(eif), f"rc={rc} {err}")
    rc, _, eif, err = e.build("--oci-layout", e.layout("busybox"), "--max-image-mb", "1")
    check("--max-image-mb 1 stops busybox (a 1+ MiB binary) with exit 1 and no EIF",
          rc == 1 and "beyond the image size limit of 1048576 bytes" in err
          and not os.path.exists(eif), f"rc={rc} {err}")
    # 3,000 empty files are at least 3,000 x 2 x 12 name bytes plus a fixed cost each (~1.5 MiB
    # counted): past a 1 MiB file-list budget, far below the entry and size limits.
    lay = imagelib.Layout()
    files = {"d/f%07d" % i: b"" for i in range(3000)}
    b = imagelib.build_image(lay, [(imagelib.tar_of_files(files), "gzip")], {"Cmd": ["/bin/sh"]})
    lay.tag({k: v for k, v in b.desc.items() if k != "platform"})
    lay.write(os.path.join(e.work, "many-layout"))
    many = os.path.join(e.work, "many-layout") + ":latest"
    rc, _, eif, err = e.build("--oci-layout", many, "--max-build-memory-mb", "1")
    check("--max-build-memory-mb 1 stops 3,000 files with exit 1 and no EIF",
          rc == 1 and "file list needs more than 1048576 bytes of memory" in err
          and not os.path.exists(eif), f"rc={rc} {err}")
    check_sparse_entry_limit(e)
    check_eif_size_limit(e)
    check_tampered_bytes_after_gzip(e)
    rc, _, eif, err = e.build("--oci-layout", e.layout("busybox"), "--max-image-entries", "3")
    check("--max-image-entries 3 stops busybox with exit 1 and no EIF",
          rc == 1 and "more than 3 entries in the image" in err and not os.path.exists(eif),
          f"rc={rc} {err}")


def sparse_tar(work, apparent_bytes):
    """A tar (GNU tar --sparse, PAX) of one file of `apparent_bytes` that is a hole but for a few
    bytes at its start: a few KiB that a reader expands to the full size."""
    src = os.path.join(work, "sparse-src")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "holes.bin"), "wb") as f:
        f.write(b"data")
        f.truncate(apparent_bytes)
    return subprocess.run(["tar", "--sparse", "--format=pax", "-cf", "-", "-C", src, "holes.bin"],
                          capture_output=True, check=True).stdout


def check_tampered_bytes_after_gzip(e):
    """A layer's digest covers the whole blob, also bytes after its gzip stream that inflating
    never needs: changing one of them fails the build (the blob is read ahead of inflate on a
    thread of its own, and that thread's verdict must still reach the build)."""
    lay = imagelib.Layout()
    plain = imagelib.compress
    imagelib.compress = lambda raw, how: plain(raw, how) + b"\0" * 64
    try:
        b = imagelib.build_image(lay, [([imagelib.F("etc/motd", b"hello\n")], "gzip")],
                                 {"Cmd": ["/bin/sh"]})
    finally:
        imagelib.compress = plain
    lay.tag({k: v for k, v in b.desc.items() if k != "platform"})
    where = os.path.join(e.work, "trailing-layout")
    lay.write(where)
    digest = b.layers[0]["digest"]
    path = os.path.join(where, "blobs", "sha256", digest.split(":")[1])
    with open(path, "r+b") as f:
        f.seek(-10, os.SEEK_END)
        f.write(b"\1")
    rc, _, eif, err = e.build("--oci-layout", where + ":latest")
    check("a changed byte after a layer's gzip stream fails the build naming the blob, no EIF",
          rc == 1 and "content has digest" in err and digest in err and not os.path.exists(eif),
          f"rc={rc} {err[-600:]}")


def check_sparse_entry_limit(e):
    """A sparse entry counts at its full size: a 1 GiB hole in a few KiB of layer is refused by
    --max-image-mb 16 (exit 1, limit named, no EIF), not expanded first."""
    layer = sparse_tar(e.work, 1 << 30)
    lay = imagelib.Layout()
    b = imagelib.build_image(lay, [(layer, "gzip")], {"Cmd": ["/bin/sh"]})
    lay.tag({k: v for k, v in b.desc.items() if k != "platform"})
    lay.write(os.path.join(e.work, "sparse-layout"))
    rc, _, eif, err = e.build("--oci-layout", os.path.join(e.work, "sparse-layout") + ":latest",
                              "--max-image-mb", "16")
    check("a %d-byte layer holding a sparse 1 GiB file exits 1 at --max-image-mb 16, no EIF"
          % len(layer), len(layer) < 65536 and rc == 1 and "holes.bin" in err
          and "beyond the image size limit of 16777216 bytes" in err and not os.path.exists(eif),
          f"rc={rc} {err}")


def check_eif_size_limit(e):
    """--max-eif-mb bounds the kernel and ramdisks together: a limit the kernel fits in but not
    busybox's ramdisks fails while the ramdisks are written; a limit below the kernel at once."""
    kernel_bytes = os.path.getsize(os.path.join(e.kernel_dir, "bzImage"))
    just_the_kernel = -(-kernel_bytes // (1 << 20))  # MiB, rounded up: < 1 MiB of room left
    rc, _, eif, err = e.build("--oci-layout", e.layout("busybox"), "--max-eif-mb", str(just_the_kernel))
    check("--max-eif-mb with room for the kernel only stops busybox with exit 1 and no EIF",
          rc == 1 and "the EIF would be larger than its limit of %d bytes" % (just_the_kernel << 20) in err
          and "kernel alone" not in err and not os.path.exists(eif), f"rc={rc} {err}")
    rc, _, eif, err = e.build("--oci-layout", e.layout("busybox"), "--max-eif-mb", "1")
    check("--max-eif-mb below the kernel's size says so, exit 1, no EIF",
          rc == 1 and "the kernel alone has %d bytes" % kernel_bytes in err
          and not os.path.exists(eif), f"rc={rc} {err}")
    rc, _, eif, err = e.build("--oci-layout", e.layout("busybox"), "--max-eif-mb", str(just_the_kernel + 8))
    check("--max-eif-mb with room for kernel and ramdisks builds busybox",
          rc == 0 and os.path.getsize(eif) <= (just_the_kernel + 8) << 20, f"rc={rc} {err}")


def test_nitro_cli_spellings(e):
    """What a script written for nitro-cli runs: the kernel from its blobs directory
    (NITRO_CLI_BLOBS), `build-enclave --docker-uri --output-file`, `describe-eif --eif-path`."""
    rc, reference, _, err = e.build("--oci-layout", e.layout("busybox"))
    env = dict(os.environ, NITRO_CLI_BLOBS=e.kernel_dir)
    out = os.path.join(e.work, "blobs.eif")
    r = run([e.bin, "build", "--oci-layout", e.layout("busybox"), "--output", out], env=env)
    pcrs = json.loads(r.stdout)["Measurements"] if r.returncode == 0 else None
    check("build without a kernel takes nitro-cli's blobs directory (NITRO_CLI_BLOBS)",
          rc == 0 and pcrs == reference, (r.returncode, r.stderr[-400:], err))
    enclave = os.path.join(e.work, "build-enclave.eif")
    r = run([e.bin, "build-enclave", "--docker-uri", "oci-layout:" + e.layout("busybox"),
             "--output-file", enclave], env=env)
    pcrs = json.loads(r.stdout)["Measurements"] if r.returncode == 0 else None
    check("build-enclave --docker-uri --output-file builds the same EIF, printing nitro-cli's JSON",
          pcrs == reference and open(enclave, "rb").read() == open(out, "rb").read(),
          (r.returncode, r.stderr[-400:]))
    a = run([e.bin, "describe-eif", "--eif-path", enclave])
    b = run([e.bin, "describe", enclave, "--json"])
    check("describe-eif --eif-path prints what describe --json does",
          a.returncode == 0 and a.stdout == b.stdout and '"Measurements"' in a.stdout,
          (a.returncode, a.stderr[-400:]))
    r = run([e.bin, "build", "--oci-layout", e.layout("busybox"), "--output", out],
            env=dict(os.environ, NITRO_CLI_BLOBS=os.path.join(e.work, "no-such-blobs")))
    check("with no kernel given and no blobs directory, build exits 2 saying what to give",
          r.returncode == 2 and "give --kernel-dir DIR or --kernel FILE" in r.stderr, r.stderr)


def main():
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="oci2eif-e2e-")
    try:
        e = Env(binary, work)
        reference = test_boot_and_overrides(e)
        test_docker_run_parity(e)
        test_reproducible(e, reference)
        test_same_tree_same_pcrs(e, reference)
        test_signed(e, reference)
        test_metadata(e, reference)
        test_diff(e)
        test_provenance(e)
        test_matches_umoci(e)
        test_platforms(e)
        test_aarch64(e)
        test_bad_images(e)
        test_nitro_cli_spellings(e)
        test_impossible_layer_size(e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
