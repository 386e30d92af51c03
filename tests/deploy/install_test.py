#!/usr/bin/env python3
"""The installed layout works: `cmake --install BUILD --prefix TMP` gives TMP/bin/oci2eif, which
finds its enclave init binaries in TMP/lib/oci2eif (not in the build tree) and builds the same
EIF as the build tree's binary; and deploy/systemd/oci2eif.service passes
`systemd-analyze verify` (pointed at the installed binary) without a warning.

usage: install_test.py BUILD_DIR   (python3, cmake, systemd-analyze, the Debian cloud kernel)
Last line: "N passed, M failed".
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from checks import check, summary  # noqa: E402
from fixtures import make_kernel_bundle, make_test_images  # noqa: E402

UNIT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "deploy", "systemd", "oci2eif.service")




def build(binary, images, kernel, out):
    env = {k: v for k, v in os.environ.items() if k != "OCI2EIF_INIT_DIR"}
    r = subprocess.run([binary, "build", "--oci-layout", os.path.join(images, "busybox") + ":latest",
                        "--kernel-dir", kernel, "--output", out], capture_output=True, text=True, env=env)
    return (json.loads(r.stdout)["Measurements"] if r.returncode == 0 else None), r.stderr[-600:]


def check_unit(prefix, work):
    unit = os.path.join(work, "oci2eif.service")
    with open(UNIT) as f:
        text = f.read()
    check("the unit runs /usr/local/bin/oci2eif serve", "ExecStart=/usr/local/bin/oci2eif serve" in text)
    with open(unit, "w") as f:
        f.write(text.replace("/usr/local/bin/oci2eif", os.path.join(prefix, "bin", "oci2eif")))
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
    complaints = [l for l in (r.stdout + r.stderr).splitlines() if "oci2eif.service" in l]
    check("systemd-analyze verify accepts deploy/systemd/oci2eif.service with no warning",
          r.returncode == 0 and not complaints, r.stdout + r.stderr)


def main():
    build_dir = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="oci2eif-install-")
    try:
        prefix = os.path.join(work, "prefix")
        r = subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix],
                           capture_output=True, text=True)
        installed = os.path.join(prefix, "bin", "oci2eif")
        check("cmake --install puts bin/oci2eif, lib/oci2eif/oci2eif-init-x86_64 and the unit",
              r.returncode == 0 and os.access(installed, os.X_OK) and
              os.path.isfile(os.path.join(prefix, "lib", "oci2eif", "oci2eif-init-x86_64")) and
              os.path.isfile(os.path.join(prefix, "lib", "systemd", "system", "oci2eif.service")),
              r.stdout + r.stderr)
        share = os.path.join(prefix, "share")
        bash_completion = os.path.join(share, "bash-completion", "completions", "oci2eif")
        check("cmake --install puts the bash and zsh completion and the oci2eif(1) man page",
              os.path.isfile(bash_completion) and
              os.path.isfile(os.path.join(share, "zsh", "vendor-completions", "_oci2eif")) and
              os.path.isfile(os.path.join(share, "man", "man1", "oci2eif.1")))
        page = open(os.path.join(share, "man", "man1", "oci2eif.1")).read() \
            if os.path.isfile(os.path.join(share, "man", "man1", "oci2eif.1")) else ""
        check("the man page is roff titled OCI2EIF(1) and lists the subcommands",
              ".TH OCI2EIF \"1\"" in page and "submit" in page and "build\\-enclave" in page, page[:600])
        images = make_test_images(os.path.join(work, "images"))
        kernel = make_kernel_bundle(os.path.join(work, "kernel"))
        ours, err1 = build(installed, images, kernel, os.path.join(work, "installed.eif"))
        tree, err2 = build(os.path.join(build_dir, "cli", "oci2eif"), images, kernel,
                           os.path.join(work, "tree.eif"))
        check("the installed binary builds with its installed init: the build tree's PCRs",
              ours is not None and ours == tree, (err1, err2))
        with open(os.path.join(work, "installed.eif"), "rb") as a, open(os.path.join(work, "tree.eif"), "rb") as b:
            check("and the same EIF bytes", a.read() == b.read())
        check_unit(prefix, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
