#!/usr/bin/env python3
"""End-to-end checks on images made the way users make them: by podman (Debian's podman 4.3,
vfs storage, runc, cgroupfs, in a private storage root below the work directory).

The expected values come from podman, not from oci2eif: what `podman run` prints for an image is
what its enclave must print when the EIF boots under QEMU.

  - `podman build` of two images from Containerfiles (FROM scratch, Debian's static busybox):
    localhost/app:1 (USER by name in a supplementary group, a WORKDIR the layers lack, a
    two-line `sh -c` command, no HOME, a file deleted in a later layer) and localhost/other:1
    (USER by number with no passwd entry; it prints numbers, as podman, unlike Docker, adds
    such a user to the container's /etc/passwd). Both carry the tag 1.
  - their EIFs boot and print exactly the lines `podman run` prints (WORKDIR and its owner,
    HOME, groups, the multi-line command, the whiteout)
  - `podman save` as docker-archive, as oci-archive and as a multi-image (`-m`) docker-archive,
    and `podman push` to the registry lab (TLS, token auth): the archives select by full name
    and by bare tag, and every form gives the same PCRs
  - in the `-m` archive, `:1` is refused as ambiguous naming both images, and
    `:localhost/other:1` builds the other one; a name the archive lacks is an error naming the
    user's file and the names it has
  - the service takes the same `docker-archive:PATH:NAME` strings, with the same answers

usage: podman_e2e.py OCI2EIF_BINARY   (root; podman, runc, busybox-static, QEMU, the cloud
kernel, the registry lab's packages; run in private mount and PID namespaces)
Exit status 77 (skipped) when podman cannot run a container on this machine, saying why.
Last line: "N passed, M failed".
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_e2e  # noqa: E402  (Daemon, write_tokens)
from checks import check, summary  # noqa: E402
from fixtures import (RegistryLab, boot_eif, make_kernel_bundle, remove_work,  # noqa: E402
                      require_tools, unmount_below, write_docker_config)
from ports import free_port  # noqa: E402

SKIP = 77

# Two images that share their first layers, as images from one base do. The commands print what
# `podman run` and the enclave must agree on; JSON's "\n" makes the line breaks in the command.
USERS = ("mkdir -p /etc && printf 'root:x:0:0:root:/root:/bin/sh\\napp:x:1000:1000:app:/work:/bin/sh\\n'"
         " > /etc/passwd && printf 'root:x:0:\\nstaff:x:50:app\\napp:x:1000:\\n' > /etc/group")
APP = """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN %s
RUN mkdir -p /opt/old && echo gone > /opt/old/file && echo kept > /opt/old/kept
RUN rm /opt/old/file
USER app
WORKDIR /srv/app
CMD ["/bin/sh", "-c", "echo line one\\necho line two\\nid\\ngrep Groups /proc/self/status\\necho home: $HOME\\necho pwd: $(pwd) $(stat -c %%a .)\\necho workdir owner: $(stat -c %%u:%%g .)\\necho opt: $(ls /opt/old)"]
""" % USERS
OTHER = """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN %s
USER 4242
CMD ["/bin/sh", "-c", "echo ids: $(id -u) $(id -g) $(id -G); grep Groups /proc/self/status; echo home: $HOME; echo pwd: $(pwd)"]
""" % USERS
CONTAINERS_CONF = """[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
"""


def run(cmd, timeout=300, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


class Podman:
    """podman with its own storage root, run root and containers.conf below DIRECTORY, so the
    test neither reads nor changes the machine's images and containers."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory)
        conf = os.path.join(directory, "containers.conf")
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF)
        self.env = dict(os.environ, CONTAINERS_CONF=conf)
        self.base = ["podman", "--root", os.path.join(directory, "root"), "--runroot",
                     os.path.join(directory, "run"), "--storage-driver", "vfs",
                     "--cgroup-manager", "cgroupfs", "--runtime", "runc"]

    def __call__(self, *args, timeout=300):
        return run(self.base + list(args), timeout=timeout, env=self.env)

    def build(self, name, containerfile):
        context = os.path.join(self.dir, name.replace("/", "_").replace(":", "_"))
        os.makedirs(context)
        shutil.copy(shutil.which("busybox"), os.path.join(context, "busybox"))
        with open(os.path.join(context, "Containerfile"), "w") as f:
            f.write(containerfile)
        return self("build", "--isolation", "chroot", "-t", name, context)

    def run_output(self, name):
        """The lines `podman run --rm IMAGE` prints, stripped; None when it fails."""
        r = self("run", "--rm", "--network", "host", name)
        return [line.strip() for line in r.stdout.splitlines() if line.strip()] \
            if r.returncode == 0 else None

    def release(self):
        """Removes the containers, then unmounts what podman left mounted below its directory (the
        test runs in private mount namespaces), so removing the work directory crosses no mount."""
        self("rm", "--all", "--force")
        unmount_below(self.dir)

    def cannot_run(self):
        """Why podman cannot run a container here, or None."""
        r = self.build("localhost/probe:1", "FROM scratch\nCOPY busybox /bin/busybox\n"
                       'CMD ["/bin/busybox", "echo", "podman runs"]\n')
        if r.returncode != 0:
            return "podman build fails: " + r.stderr[-400:]
        out = self.run_output("localhost/probe:1")
        return None if out == ["podman runs"] else "podman run fails here (%s)" % out


class Suite:
    def __init__(self, binary, work):
        self.bin = binary
        self.work = work
        self.kernel_dir = make_kernel_bundle(os.path.join(work, "kernel"))
        self.podman = Podman(os.path.join(work, "podman"))
        self.counter = 0

    def path(self, name):
        return os.path.join(self.work, name)

    def build(self, source_flag, location, *extra, env=None):
        """`oci2eif build`; returns (returncode, measurements or None, eif path, stderr)."""
        self.counter += 1
        out = self.path("out-%d.eif" % self.counter)
        r = run([self.bin, "build", source_flag, location, "--kernel-dir", self.kernel_dir,
                 "--output", out, "--cache-dir", self.path("cache"), *extra], env=env)
        pcrs = json.loads(r.stdout)["Measurements"] if r.returncode == 0 else None
        return r.returncode, pcrs, out, r.stderr


def same_pcrs(a, b):
    return a is not None and b is not None and all(a[k] == b[k] for k in ("PCR0", "PCR1", "PCR2"))


# Where podman and Docker differ, the enclave does as Docker does: a WORKDIR that the image lacks
# is created owned by root (moby's SetupWorkingDirectory); podman 4.3 chowns it to the user.
DOCKER_NOT_PODMAN = {"workdir owner: ": "workdir owner: 0:0"}


def as_docker(line):
    for prefix, docker in DOCKER_NOT_PODMAN.items():
        if line.startswith(prefix):
            return docker
    return line


def check_boot(s, eif, podman_lines, name):
    """The EIF boots under QEMU and prints every line `podman run` printed (as Docker would
    print it, where they differ), then exits 0."""
    expect = [as_docker(line) for line in podman_lines] + ["exited with status 0"]
    extracted, booted, detail = boot_eif(s.bin, eif, expect)
    check("%s: boots and prints what podman run prints (%s)" % (name, " | ".join(expect[:-1])),
          extracted and booted, detail)


def make_images(s):
    """Builds both images with podman and saves them; returns {image: podman run's lines}."""
    printed = {}
    for name, containerfile in (("localhost/app:1", APP), ("localhost/other:1", OTHER)):
        r = s.podman.build(name, containerfile)
        if r.returncode != 0:
            raise SystemExit("podman build %s failed: %s" % (name, r.stderr[-800:]))
        printed[name] = s.podman.run_output(name)
        check("podman run %s prints its lines" % name, printed[name], printed[name])
    saves = (("--format", "docker-archive", "-o", s.path("app.tar"), "localhost/app:1"),
             ("--format", "oci-archive", "-o", s.path("app-oci.tar"), "localhost/app:1"),
             ("-m", "--format", "docker-archive", "-o", s.path("multi.tar"),
              "localhost/app:1", "localhost/other:1"))
    for args in saves:
        r = s.podman("save", *args)
        if r.returncode != 0:
            raise SystemExit("podman save %s failed: %s" % (" ".join(args), r.stderr[-800:]))
    return printed


def check_app(s, printed):
    """The docker-archive build boots as podman runs it; the missing WORKDIR is logged."""
    rc, pcrs, eif, err = s.build("--docker-archive", s.path("app.tar"))
    if not check("app from podman's docker-archive builds", rc == 0, err):
        return None
    check("the build log says the missing WORKDIR was created",
          "WORKDIR /srv/app is not in the image: created /srv/app (0755, root)" in err, err[-600:])
    if printed["localhost/app:1"]:
        check_boot(s, eif, printed["localhost/app:1"], "app")
    r = run([s.bin, "rootfs", "--docker-archive", s.path("app.tar")])
    paths = {line.split("\t")[0]: line.split("\t")[1:4] for line in r.stdout.splitlines()}
    check("oci2eif rootfs lists what the enclave adds: dev proc run sys tmp var and srv/app "
          "(0755, root), and not the deleted file",
          r.returncode == 0 and all(paths.get(p) == ["dir", "0755", "0:0"] for p in
                                    ("dev", "proc", "run", "sys", "tmp", "var", "srv", "srv/app"))
          and "opt/old/kept" in paths and "opt/old/file" not in paths, r.stderr + r.stdout[-800:])
    return pcrs


def check_every_form(s, reference, registry):
    """Each way podman hands the image over gives the same PCRs."""
    forms = [("--docker-archive", s.path("app.tar") + ":localhost/app:1"),
             ("--oci-archive", s.path("app-oci.tar")),
             ("--oci-archive", s.path("app-oci.tar") + ":localhost/app:1"),
             ("--oci-archive", s.path("app-oci.tar") + ":1"),
             ("--docker-archive", s.path("multi.tar") + ":localhost/app:1"),
             ("--docker-archive", s.path("multi.tar") + ":app:1"),  # podman's short name
             ("--docker-archive", s.path("multi.tar") + ":docker.io/library/app:1")]
    for flag, location in forms:
        rc, pcrs, _, err = s.build(flag, location)
        if location.endswith("docker.io/library/app:1"):
            check("multi.tar:docker.io/library/app:1 is not podman's localhost/app:1",
                  rc != 0 and "no image named 'docker.io/library/app:1'" in err, err[-600:])
            continue
        check("%s %s gives the same PCRs" % (flag, location[len(s.work) + 1:]),
              rc == 0 and same_pcrs(pcrs, reference), err[-600:])
    if registry:
        rc, pcrs, _, err = s.build("--image", registry["image"], "--registry-ca", registry["ca"],
                                   env=registry["env"])
        check("podman push to the lab (TLS, token auth), then --image: the same PCRs",
              rc == 0 and same_pcrs(pcrs, reference), err[-600:])


def check_selection_errors(s):
    """Ambiguous and missing names are refused with what the archive has; no EIF is written."""
    rc, _, eif, err = s.build("--docker-archive", s.path("multi.tar") + ":1")
    check("multi.tar:1 is refused: two images carry tag 1, both named",
          rc != 0 and "'1' names 2 different images" in err and "localhost/app:1" in err
          and "localhost/other:1" in err and not os.path.exists(eif), err)
    rc, _, eif, err = s.build("--oci-archive", s.path("app-oci.tar") + ":nope")
    check("a name the oci-archive lacks: the error names the user's file and what it has",
          rc != 0 and s.path("app-oci.tar") + ":nope" in err and "no image named 'nope'" in err
          and "the archive has: localhost/app:1" in err and not os.path.exists(eif), err)


def check_other(s, printed):
    rc, pcrs, eif, err = s.build("--docker-archive", s.path("multi.tar") + ":localhost/other:1")
    if check("multi.tar:localhost/other:1 builds the other image", rc == 0, err) \
            and printed["localhost/other:1"]:
        check_boot(s, eif, printed["localhost/other:1"], "other (USER 4242, no passwd entry)")
    return pcrs


def push_to_lab(s, lab):
    """podman push to the lab's token registry; returns the --image build's reference and env."""
    image = "%s/podman/app:1" % lab.env["LAB_TOKEN"]
    creds = "%s:%s" % (lab.env["LAB_USER"], lab.env["LAB_PASS"])
    r = s.podman("push", "--cert-dir", lab.cert_dir(), "--creds", creds, "localhost/app:1",
                 "docker://" + image)
    if not check("podman push to the lab's TLS + token registry", r.returncode == 0, r.stderr[-600:]):
        return None
    docker = write_docker_config(s.path("docker"), {lab.env["LAB_TOKEN"]:
                                                    (lab.env["LAB_USER"], lab.env["LAB_PASS"])})
    return {"image": image, "ca": lab.env["LAB_CA"], "env": dict(os.environ, DOCKER_CONFIG=docker)}


def check_service(s, reference, other):
    """The service reads the same archive strings, with the same answers."""
    home = s.path("serve")
    os.makedirs(home)
    serve_e2e.write_tokens(home)
    daemon = serve_e2e.Daemon(s.bin, home, s.kernel_dir, free_port())
    daemon.cmd[daemon.cmd.index("--local-images") + 1] = s.work
    daemon.start()
    try:
        for image, want in (("docker-archive:%s:localhost/app:1" % s.path("multi.tar"), reference),
                            ("docker-archive:%s:localhost/other:1" % s.path("multi.tar"), other),
                            ("oci-archive:%s:1" % s.path("app-oci.tar"), reference)):
            status, b, _ = daemon.request("POST", "/v1/builds", {"image": image})
            done = daemon.wait(b["id"], ("succeeded", "failed")) if status == 202 else None
            check("the service builds %s with the CLI's PCRs" % image,
                  done and done["state"] == "succeeded" and want and
                  all(done["pcrs"][k] == want[k] for k in ("PCR0", "PCR1", "PCR2")), (status, b, done))
        # Archives are opened by the worker, not on the API thread (BuildRunner::resolve_early).
        status, b, _ = daemon.request("POST", "/v1/builds",
                                      {"image": "docker-archive:%s:1" % s.path("multi.tar")})
        done = daemon.wait(b["id"], ("succeeded", "failed")) if status == 202 else None
        error = (done or {}).get("error", {})
        check("the service fails multi.tar:1 as ambiguous (invalid_input), naming both images",
              done and done["state"] == "failed" and error.get("code") == "invalid_input"
              and "'1' names 2 different images" in error.get("message", "")
              and "localhost/app:1" in error["message"] and "localhost/other:1" in error["message"],
              (status, done))
    finally:
        daemon.stop()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    require_tools("podman_e2e.py", ["podman", "runc", "busybox", "qemu-system-x86_64"])
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="oci2eif-podman-")
    s = None
    try:
        s = Suite(binary, work)
        why = s.podman.cannot_run()
        if why:
            print("SKIPPED: " + why)
            return SKIP
        printed = make_images(s)
        reference = check_app(s, printed)
        with RegistryLab(s.path("lab")) as lab:
            registry = push_to_lab(s, lab)
            check_every_form(s, reference, registry)
        check_selection_errors(s)
        other = check_other(s, printed)
        check_service(s, reference, other)
    finally:
        if s:
            s.podman.release()
        remove_work(work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
