"""The oci2eif binary's command-line conventions, as a user's shell sees them:
  - a wrong command line exits 2 with one error line and a hint naming the --help to run;
  - an unknown subcommand is named as one (with "did you mean" for a typo);
  - --help and --version exit 0 on stdout;
  - a bad file is not a usage error: exit 1;
  - `completion bash|zsh` scripts that complete subcommands and their options.
Usage: cli_usage_e2e.py OCI2EIF_BINARY"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402


def run(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def check_usage_errors(binary):
    cases = [
        (["nosuch"], "oci2eif: error: unknown subcommand 'nosuch'\n", "oci2eif --help"),
        (["biuld"], "unknown subcommand 'biuld'; did you mean 'build'?", "oci2eif --help"),
        ([], "A subcommand is required", "oci2eif --help"),
        (["build", "--oci-layout", "x"], "--output is required", "oci2eif build --help"),
        (["describe", "a", "b"], "not expected: b", "oci2eif describe --help"),
        (["submit", "img"], "--server is required", "oci2eif submit --help"),
        (["build", "--output", "o", "--parallel-downloads", "99"], "parallel-downloads",
         "oci2eif build --help"),
    ]
    for args, message, hint in cases:
        rc, out, err = run(binary, *args)
        lines = err.splitlines()
        check("usage error %r exits 2 with one line and 'Run %s'" % (args, hint),
              rc == 2 and out == "" and len(lines) == 2 and message in err
              and lines[1] == "Run '%s' for usage." % hint, (rc, err))


def check_help_and_version(binary):
    rc, out, err = run(binary, "--version")
    check("--version exits 0 and prints the version on stdout",
          rc == 0 and out.startswith("oci2eif ") and err == "", (rc, out, err))
    rc, out, err = run(binary, "submit", "--help")
    check("submit --help exits 0, names --wait and the exit statuses",
          rc == 0 and "--wait" in out and "Exit status: 0 succeeded" in out, (rc, out[:300], err))


def check_bad_file_is_not_usage(binary, work):
    bad = os.path.join(work, "bad.eif")
    with open(bad, "wb") as f:
        f.write(b"not an eif at all")
    rc, _, err = run(binary, "describe", bad)
    check("describe of a file that is not an EIF exits 1 (a bad file, not a usage error)",
          rc == 1 and "oci2eif: error:" in err, (rc, err))
    cert = os.path.join(work, "corrupt.pem")
    with open(cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    rc, _, err = run(binary, "pcr", "--signing-certificate", cert)
    check("pcr of a corrupt certificate exits 1 naming it (a bad file, not a usage error)",
          rc == 1 and "corrupt.pem" in err, (rc, err))


def complete(binary, script, line):
    """What bash completes for `line` (the cursor at its end) with `script` loaded."""
    words = line.split(" ")
    program = ('source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_oci2eif\nprintf "%%s\\n" "${COMPREPLY[@]}"'
               % (script, " ".join("'%s'" % w for w in words), len(words) - 1))
    r = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    return [w for w in r.stdout.splitlines() if w]


def check_completion(binary, work):
    script = os.path.join(work, "oci2eif.bash")
    rc, out, err = run(binary, "completion", "bash")
    with open(script, "w") as f:
        f.write(out)
    check("completion bash prints a script bash accepts",
          rc == 0 and subprocess.run(["bash", "-n", script]).returncode == 0, err)
    check("it completes subcommands", complete(binary, script, "oci2eif bu") == ["build", "build-enclave"],
          complete(binary, script, "oci2eif bu"))
    check("it completes a subcommand's options",
          complete(binary, script, "oci2eif submit --wa") == ["--wait"] and
          "--docker-uri" in complete(binary, script, "oci2eif build-enclave --"),
          complete(binary, script, "oci2eif submit --wa"))
    rc, out, err = run(binary, "completion", "zsh")
    check("completion zsh prints a #compdef script naming every subcommand",
          rc == 0 and out.startswith("#compdef oci2eif") and "'submit:" in out and "'serve:" in out, err)
    if shutil.which("zsh"):
        path = os.path.join(work, "_oci2eif")
        with open(path, "w") as f:
            f.write(out)
        check("zsh accepts its syntax", subprocess.run(["zsh", "-n", path]).returncode == 0)
    rc, _, err = run(binary, "completion", "fish")
    check("an unknown shell is a usage error", rc == 2 and "fish" in err, err)


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="oci2eif-cli-") as work:
        check_usage_errors(binary)
        check_help_and_version(binary)
        check_bad_file_is_not_usage(binary, work)
        check_completion(binary, work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
