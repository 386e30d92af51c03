#!/usr/bin/env python3
"""End-to-end checks of EIFs as OCI 1.1 artifacts (docs/oci-artifacts.md) against the registry
lab (reglab/lab.sh: Debian's docker-registry 2.8, which has no referrers API, behind TLS and
bearer tokens):

  skopeo pushes the busybox test image; `oci2eif build` makes its EIF; `oci2eif push --subject`
  stores it; skopeo reads the artifact manifest and the fallback tag's index back independently;
  `oci2eif referrers` lists it; `oci2eif fetch` returns the same bytes; a second push uploads no
  blob (counted in the registry's own access log); a tampered artifact (PCR annotation changed)
  is refused by fetch with exit 1 and no file; an anonymous push is refused.

  `oci2eif build --image … --push REF --provenance P` (signed with the AWS vectors' key) stores
  the EIF with the image as its subject and the provenance as the EIF artifact's referrer;
  skopeo reads both manifests and the EIF artifact's fallback index back; `fetch --provenance`
  returns both files byte for byte, and `oci2eif verify` accepts them; `push --provenance` does
  the same for an existing file; a malformed --push target is refused before anything is built.

usage: oci_artifact_e2e.py OCI2EIF_BINARY   (docker-registry, skopeo, openssl, the cloud kernel)
Last line: "N passed, M failed".
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402
from fixtures import (RegistryLab, make_kernel_bundle, make_test_images, require_tools,  # noqa: E402
                      write_docker_config)

ARTIFACT_TYPE = "application/vnd.oci2eif.eif.v1"
DSSE_TYPE = "application/vnd.dsse.envelope.v1+json"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
VECTOR_INPUTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                             "eif-vectors", "inputs")
SIGNING = ("--signing-certificate", os.path.join(VECTOR_INPUTS, "signing-cert-p384.pem"),
           "--private-key", os.path.join(VECTOR_INPUTS, "signing-key-p384.pem"))
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
# The registry's access log line for a blob upload: the POST that opens it, the PUT that ends it.
UPLOAD = re.compile(r'http\.request\.method=(POST|PUT) .*http\.request\.uri="/v2/[^"]*/blobs/uploads/')


def run(cmd, timeout=300, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Ctx:
    def __init__(self, binary, work, lab):
        self.bin = binary
        self.work = work
        self.lab = lab
        self.reg = lab.env["LAB_TOKEN"]
        self.repo = self.reg + "/test/app"
        self.certs = lab.cert_dir()
        self.creds = "%s:%s" % (lab.env["LAB_USER"], lab.env["LAB_PASS"])
        self.env = dict(os.environ, DOCKER_CONFIG=write_docker_config(
            os.path.join(work, "docker"), {self.reg: (lab.env["LAB_USER"], lab.env["LAB_PASS"])}))
        self.anonymous = dict(os.environ, DOCKER_CONFIG=os.path.join(work, "nobody"))
        os.makedirs(self.anonymous["DOCKER_CONFIG"])

    def oci2eif(self, *args, env=None):
        return run([self.bin, *args, "--registry-ca", self.lab.env["LAB_CA"]],
                   env=env or self.env)

    def skopeo_raw(self, ref):
        r = run(["skopeo", "inspect", "--raw", "--cert-dir", self.certs, "--creds", self.creds,
                 "docker://" + ref])
        return r.stdout if r.returncode == 0 else None

    def uploads(self):
        with open(os.path.join(self.lab.env["LAB_DIR"], "logs", "token.log")) as f:
            return sum(1 for line in f if UPLOAD.search(line))


def pushed_json(c, r, name):
    if not check(name + " exits 0", r.returncode == 0, r.stderr[-2000:]):
        return None
    return json.loads(r.stdout)


def test_push(c, eif, pcrs, image_digest):
    before = c.uploads()
    out = pushed_json(c, c.oci2eif("push", eif, c.repo + ":app-eif", "--subject", c.repo + ":v1"),
                      "push --subject")
    if out is None:
        return None
    check("push prints the subject's digest", out["subject"] == image_digest, out)
    check("push names the fallback tag (docker-registry has no referrers API)",
          out["referrers"] == "tag sha256-" + image_digest[7:], out)
    check("push uploaded the EIF and the empty config", out["blobs_uploaded"] == 2, out)
    check("the registry logged the uploads (POST + PUT each)", c.uploads() - before == 4,
          c.uploads() - before)
    raw = c.skopeo_raw(c.repo + ":app-eif")
    if not check("skopeo reads the artifact manifest", raw is not None):
        return out
    m = json.loads(raw)
    check("its digest is the one push printed",
          "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == out["digest"])
    check("artifactType is the EIF's", m.get("artifactType") == ARTIFACT_TYPE, m)
    check("config is the OCI empty descriptor", m["config"] == {
        "mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY_DIGEST, "size": 2}, m)
    layer = m["layers"][0] if len(m.get("layers", [])) == 1 else {}
    check("one layer: the EIF, by digest, size and title",
          layer.get("digest") == sha256_file(eif) and layer.get("size") == os.path.getsize(eif) and
          layer.get("annotations", {}).get("org.opencontainers.image.title") == "app.eif", layer)
    check("subject is the image skopeo pushed", m.get("subject", {}).get("digest") == image_digest, m)
    stated = {k: m["annotations"].get("com.oci2eif.pcr" + k[3:]) for k in ("PCR0", "PCR1", "PCR2")}
    check("the PCR annotations are the build's",
          stated == {k: pcrs[k].lower() for k in stated}, (stated, pcrs))
    check("arch and version annotations", m["annotations"].get("com.oci2eif.arch") == "x86_64" and
          m["annotations"].get("com.oci2eif.version"), m["annotations"])
    return out


def test_fallback_index(c, pushed, image_digest):
    raw = c.skopeo_raw(c.repo + ":sha256-" + image_digest[7:])
    if not check("skopeo reads the fallback tag's index", raw is not None):
        return
    index = json.loads(raw)
    entries = [d for d in index.get("manifests", []) if d.get("digest") == pushed["digest"]]
    check("the index is an OCI index",
          index.get("mediaType") == "application/vnd.oci.image.index.v1+json", index)
    check("it lists the artifact once, with artifactType and PCRs",
          len(entries) == 1 and entries[0].get("artifactType") == ARTIFACT_TYPE and
          "com.oci2eif.pcr0" in entries[0].get("annotations", {}), index)
    return len(index["manifests"])


def test_referrers(c, pushed, pcrs, image_digest):
    r = c.oci2eif("referrers", c.repo + ":v1", "--json")
    if not check("referrers --json exits 0", r.returncode == 0, r.stderr[-2000:]):
        return
    listed = json.loads(r.stdout)
    check("referrers names the image's digest", listed["subject"] == image_digest, listed)
    found = [x for x in listed["referrers"] if x["digest"] == pushed["digest"]]
    check("referrers lists the pushed EIF with its PCRs", len(found) == 1 and all(
        found[0]["Measurements"].get(k) == pcrs[k].lower() for k in ("PCR0", "PCR1", "PCR2")),
        listed)
    r = c.oci2eif("referrers", c.repo + ":v1")
    check("referrers (text) shows the digest and PCR0",
          r.returncode == 0 and pushed["digest"] in r.stdout and pcrs["PCR0"].lower() in r.stdout,
          r.stdout + r.stderr)


def test_fetch(c, eif, pcrs):
    out = os.path.join(c.work, "fetched.eif")
    r = c.oci2eif("fetch", c.repo + ":app-eif", "-o", out, "--cache-dir",
                  os.path.join(c.work, "cache"))
    if not check("fetch exits 0", r.returncode == 0, r.stderr[-2000:]):
        return
    check("fetch gives back the same bytes", sha256_file(out) == sha256_file(eif))
    check("fetch prints the build's measurements", json.loads(r.stdout)["Measurements"] == pcrs,
          r.stdout)


def test_repush(c, eif, pushed, image_digest, entries_before):
    before = c.uploads()
    again = pushed_json(c, c.oci2eif("push", eif, c.repo + ":app-eif", "--subject",
                                     c.repo + ":v1"), "second push")
    if again is None:
        return
    check("a second push uploads no blob (registry log)", c.uploads() == before,
          c.uploads() - before)
    check("a second push reports no upload", again["blobs_uploaded"] == 0, again)
    check("a second push yields the same digest", again["digest"] == pushed["digest"], again)
    raw = c.skopeo_raw(c.repo + ":sha256-" + image_digest[7:])
    check("the fallback index does not list it twice",
          raw is not None and len(json.loads(raw)["manifests"]) == entries_before, raw)


def put_manifest(registry, repo, tag, body, media_type):
    req = urllib.request.Request("http://%s/v2/%s/manifests/%s" % (registry, repo, tag),
                                 data=body, method="PUT", headers={"Content-Type": media_type})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def test_tampered(c):
    m = json.loads(c.skopeo_raw(c.repo + ":app-eif"))
    m["annotations"]["com.oci2eif.pcr0"] = "00" * 48
    # The lab's registries share one storage: the plain one (no auth) takes the forged manifest.
    status = put_manifest(c.lab.env["LAB_PLAIN"], "test/app", "tampered", json.dumps(m).encode(),
                          m["mediaType"])
    check("the tampered manifest is stored", status == 201, status)
    target = os.path.join(c.work, "tampered", "out.eif")
    os.makedirs(os.path.dirname(target))
    r = c.oci2eif("fetch", c.repo + ":tampered", "-o", target, "--cache-dir",
                  os.path.join(c.work, "cache"))
    check("fetch of a tampered artifact exits 1", r.returncode == 1, r.returncode)
    check("its error names the PCR that differs", "PCR0" in r.stderr and "altered" in r.stderr,
          r.stderr)
    check("and leaves no file", os.listdir(os.path.dirname(target)) == [],
          os.listdir(os.path.dirname(target)))
    r = c.oci2eif("fetch", c.repo + ":v1", "-o", target, "--cache-dir",
                  os.path.join(c.work, "cache"))
    check("fetch of an image (not an EIF artifact) exits 1, saying so",
          r.returncode == 1 and "not an EIF artifact" in r.stderr and not os.path.exists(target),
          r.stderr)


def test_anonymous_push(c, eif):
    r = c.oci2eif("push", eif, c.repo + ":anonymous", env=c.anonymous)
    check("an anonymous push is refused (pull-only token)",
          r.returncode == 1 and "401" in r.stderr, r.stderr[-2000:])
    with open(os.path.join(c.lab.env["LAB_DIR"], "logs", "tokens.requests")) as f:
        log = f.read()
    check("push asked the token server for pull,push",
          "labuser repository:test/app:pull,push 200" in log, log[-2000:])


def pushed_line(stderr):
    """The JSON of build --push's "pushed {...}" log line, or None."""
    for line in stderr.splitlines():
        if line.startswith("pushed {"):
            return json.loads(line[len("pushed "):])
    return None


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check_provenance_referrer(c, eif_manifest_digest, provenance_digest, provenance_file):
    """The EIF artifact's fallback index lists the provenance artifact, whose manifest (read by
    skopeo) has the EIF artifact as subject and the file's bytes as its one layer."""
    raw = c.skopeo_raw(c.repo + ":sha256-" + eif_manifest_digest[7:])
    if not check("skopeo reads the EIF artifact's referrers index", raw is not None):
        return
    entries = [d for d in json.loads(raw)["manifests"] if d["digest"] == provenance_digest]
    check("it lists the provenance as a DSSE envelope of SLSA provenance",
          len(entries) == 1 and entries[0].get("artifactType") == DSSE_TYPE and
          entries[0].get("annotations", {}).get("in-toto.io/predicate-type") == SLSA_PROVENANCE,
          raw)
    raw = c.skopeo_raw(c.repo + "@" + provenance_digest)
    if not check("skopeo reads the provenance artifact by digest", raw is not None):
        return
    m = json.loads(raw)
    check("its subject is the EIF artifact",
          m.get("subject", {}).get("digest") == eif_manifest_digest, m)
    layer = m["layers"][0]
    check("its one layer is the provenance file, byte for byte (digest and size)",
          layer["mediaType"] == DSSE_TYPE and layer["digest"] == sha256_file(provenance_file) and
          layer["size"] == os.path.getsize(provenance_file), layer)


def test_build_push(c, kernel, image_digest):
    out_dir = os.path.join(c.work, "built")
    os.makedirs(out_dir)
    eif, prov = os.path.join(out_dir, "app.eif"), os.path.join(out_dir, "app.intoto.jsonl")
    r = c.oci2eif("build", "--image", c.repo + ":v1", "--kernel-dir", kernel, "--output", eif,
                  "--cache-dir", os.path.join(c.work, "cache"), *SIGNING, "--provenance", prov,
                  "--push", c.repo + ":v1-eif")
    if not check("build --push --provenance exits 0", r.returncode == 0, r.stderr[-2000:]):
        return
    pcrs = json.loads(r.stdout)["Measurements"]
    pushed = pushed_line(r.stderr)
    if not check("build logs what it pushed", pushed is not None, r.stderr[-2000:]):
        return
    check("the subject is the image the build pulled (same repository)",
          pushed["subject"] == image_digest, pushed)
    raw = c.skopeo_raw(c.repo + ":v1-eif")
    m = json.loads(raw) if raw else {}
    check("skopeo reads the pushed EIF artifact under the tag, with the digest build logged",
          raw is not None and
          "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == pushed["digest"], pushed)
    check("its layer is the EIF written, and it states PCR8 of the signed EIF",
          m.get("layers", [{}])[0].get("digest") == sha256_file(eif) and
          m.get("annotations", {}).get("com.oci2eif.pcr8") == pcrs["PCR8"].lower(), m)
    if not check("build pushed the provenance", pushed.get("provenance") is not None, pushed):
        return
    check_provenance_referrer(c, pushed["digest"], pushed["provenance"]["digest"], prov)
    r = c.oci2eif("referrers", c.repo + ":v1", "--json")
    listed = {x["digest"]: x for x in json.loads(r.stdout)["referrers"]} if r.returncode == 0 else {}
    check("referrers shows the provenance attached to the pushed EIF",
          listed.get(pushed["digest"], {}).get("provenance") == pushed["provenance"]["digest"],
          (r.stdout, r.stderr[-1000:]))
    check("and none for an EIF pushed without one",
          any(x["provenance"] is None for d, x in listed.items() if d != pushed["digest"]), listed)
    got_eif, got_prov = os.path.join(out_dir, "got.eif"), os.path.join(out_dir, "got.intoto.jsonl")
    r = c.oci2eif("fetch", c.repo + ":v1-eif", "-o", got_eif, "--provenance", got_prov,
                  "--cache-dir", os.path.join(c.work, "cache"))
    if not check("fetch --provenance exits 0", r.returncode == 0, r.stderr[-2000:]):
        return
    check("fetch gives back the EIF and the provenance byte for byte",
          read_bytes(got_eif) == read_bytes(eif) and read_bytes(got_prov) == read_bytes(prov))
    r = run([c.bin, "verify", got_eif, "--provenance", got_prov, "--certificate", SIGNING[1],
             "--expect-pcr0", pcrs["PCR0"]])
    check("oci2eif verify accepts what fetch returned", r.returncode == 0, r.stdout + r.stderr)
    return eif, prov


def test_push_provenance(c, built):
    eif, prov = built
    r = c.oci2eif("push", eif, c.repo + ":pushed-eif", "--subject", c.repo + ":v1",
                  "--provenance", prov)
    out = pushed_json(c, r, "push --provenance")
    if out is None:
        return
    check("push reports the provenance it attached", out.get("provenance") is not None, out)
    if out.get("provenance"):
        check_provenance_referrer(c, out["digest"], out["provenance"]["digest"], prov)
    r = c.oci2eif("fetch", c.repo + ":app-eif", "-o", os.path.join(c.work, "none.eif"),
                  "--provenance", os.path.join(c.work, "none.jsonl"))
    check("fetch --provenance of an EIF without one exits 1, naming it, and writes nothing",
          r.returncode == 1 and "no provenance is attached" in r.stderr and
          not os.path.exists(os.path.join(c.work, "none.eif")), r.stderr[-2000:])


def test_bad_push_target(c, kernel, images):
    out = os.path.join(c.work, "bad-target.eif")
    r = run([c.bin, "build", "--oci-layout", os.path.join(images, "busybox") + ":latest",
             "--kernel-dir", kernel, "--output", out, "--push", "Not A/Reference"])
    check("build --push with a malformed target is a usage error (2) before building",
          r.returncode == 2 and "--push: invalid image reference 'Not A/Reference'" in r.stderr
          and not os.path.exists(out),
          (r.returncode, r.stderr[-2000:]))


def main():
    require_tools("oci_artifact_e2e.py", ["docker-registry", "skopeo", "openssl", "htpasswd"])
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="oci2eif-artifact-e2e-")
    try:
        images = make_test_images(os.path.join(work, "images"))
        kernel = make_kernel_bundle(os.path.join(work, "kernel"))
        with RegistryLab(os.path.join(work, "lab")) as lab:
            c = Ctx(binary, work, lab)
            r = run(["skopeo", "copy", "-q", "--dest-cert-dir", c.certs, "--dest-creds", c.creds,
                     "oci:" + os.path.join(images, "busybox") + ":latest",
                     "docker://" + c.repo + ":v1"])
            if not check("skopeo pushes the source image", r.returncode == 0, r.stderr):
                return summary()
            image_digest = "sha256:" + hashlib.sha256(
                c.skopeo_raw(c.repo + ":v1").encode()).hexdigest()
            eif = os.path.join(work, "app.eif")
            r = run([binary, "build", "--oci-layout", os.path.join(images, "busybox") + ":latest",
                     "--kernel-dir", kernel, "--output", eif])
            if not check("build makes the EIF", r.returncode == 0, r.stderr[-2000:]):
                return summary()
            pcrs = json.loads(r.stdout)["Measurements"]
            pushed = test_push(c, eif, pcrs, image_digest)
            if pushed is not None:
                entries = test_fallback_index(c, pushed, image_digest)
                test_referrers(c, pushed, pcrs, image_digest)
                test_fetch(c, eif, pcrs)
                test_repush(c, eif, pushed, image_digest, entries)
                test_tampered(c)
            test_anonymous_push(c, eif)
            built = test_build_push(c, kernel, image_digest)
            if built:
                test_push_provenance(c, built)
            test_bad_push_target(c, kernel, images)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
