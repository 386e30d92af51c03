"""The oci2eif binary's command-line conventions, as a user's shell sees them:
  - a wrong command line exits 2 with one error line and a hint naming the --help to run;
  - an unknown subcommand is named as one (with "did you mean" for a typo);
  - --help and --version exit 0 on stdout;
  - a bad file is not a usage error: exit 1.
Usage: cli_usage_e2e.py OCI2EIF_BINARY"""
import os
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


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="oci2eif-cli-") as work:
        check_usage_errors(binary)
        check_help_and_version(binary)
        check_bad_file_is_not_usage(binary, work)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
