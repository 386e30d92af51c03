#!/usr/bin/env bash
# selftest.sh [--keep]
#
# Self-test of the test-image generator and the umoci reference, for CTest (run as root; needs
# python3, zstd, umoci, chroot). It
#   1. runs make_images.py twice, with different TZ, umask and cwd, and diffs the outputs;
#   2. verifies blobs, descriptor sizes, diff_ids, archives (check_images.py verify);
#   3. unpacks every image umoci can read with tests/e2e/umoci_reference.sh and asserts the
#      manifest.json `expect` facts on the listing; images umoci 0.4.7 cannot read must fail
#      there, and are compared through their declared reference layout instead;
#   4. checks busybox and busybox-relayered (and every same_tree_as pair) list identically;
#   5. runs busybox's /app/run.sh in a chroot as umoci's runtime config says and compares the
#      console and exit code with expect.run.
# Last line: "N passed, M failed"; exit status 1 if anything failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
gen="$here/make_images.py"
chk="$here/check_images.py"
ref="$here/../e2e/umoci_reference.sh"
keep=0
[[ ${1:-} == --keep ]] && keep=1

T=$(mktemp -d "${TMPDIR:-/tmp}/images-selftest.XXXXXX")
if [[ $keep -eq 0 ]]; then trap 'rm -rf "$T"' EXIT; else echo "keeping $T"; fi
pass=0 fail=0
ok()   { echo "ok $*"; pass=$((pass + 1)); }
bad()  { echo "FAIL $*"; fail=$((fail + 1)); }
# Run a check_images.py subcommand and count its ok/FAIL lines; a crash is one more failure.
count() {
    local out rc nfail
    out=$(python3 "$chk" "$@" 2>&1)
    rc=$?
    echo "$out"
    nfail=$(grep -c '^FAIL ' <<<"$out")
    pass=$((pass + $(grep -c '^ok ' <<<"$out")))
    fail=$((fail + nfail))
    if [[ $rc -ne 0 && $nfail -eq 0 ]]; then bad "check_images.py $1 exited $rc without a FAIL line"; fi
}

if [[ $(id -u) -ne 0 ]]; then
    echo "selftest.sh must run as root (umoci unpack creates devices and owners)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# 1. determinism
if (cd / && TZ=UTC umask 022 && timeout 120 python3 "$gen" "$T/a" >"$T/gen-a.log" 2>&1) &&
   (mkdir "$T/cwd" && cd "$T/cwd" && TZ=Pacific/Chatham umask 077 && LC_ALL=C timeout 120 python3 "$gen" ../b >"$T/gen-b.log" 2>&1); then
    ok "generator ran twice"
else
    bad "generator failed: $(cat "$T"/gen-*.log)"
fi
if diff -r "$T/a" "$T/b" >"$T/diff.txt" 2>&1; then
    ok "two runs are byte-identical ($(find "$T/a" -type f | wc -l) files)"
else
    bad "two runs differ: $(head -5 "$T/diff.txt")"
fi
if diff <(cd "$T/a" && find . -printf '%p %y %m\n' | sort) <(cd "$T/b" && find . -printf '%p %y %m\n' | sort) >/dev/null; then
    ok "two runs have the same file modes"
else
    bad "file modes depend on the caller's umask"
fi
O="$T/a"

# 2. blobs, sizes, diff_ids, archives
count verify "$O"

# 3. umoci reference listings + expect facts
mapfile -t rows < <(python3 - "$O/manifest.json" <<'EOF'
import json, sys
for name, rec in json.load(open(sys.argv[1]))["images"].items():
    u = rec["umoci"]
    print(name, u["unpack"], u.get("reference_layout", "-"), rec["expect"].get("same_tree_as", "-"),
          u.get("error_contains", ""))
EOF
)
mkdir -p "$T/lst"
for row in "${rows[@]}"; do
    read -r name unpack reflayout same error <<<"$row"
    if [[ $unpack == ok ]]; then
        if bash "$ref" "$O/$name" latest "$T/lst/$name.txt" 2>"$T/lst/$name.err"; then
            ok "$name: umoci unpack ($(wc -l <"$T/lst/$name.txt") entries)"
            count expect "$O" "$name" "$T/lst/$name.txt"
        else
            bad "$name: umoci unpack: $(cat "$T/lst/$name.err")"
        fi
    else
        if bash "$ref" "$O/$name" latest "$T/lst/$name.txt" 2>"$T/lst/$name.err"; then
            bad "$name: umoci unpacked an image it is documented not to read"
        elif grep -qF -- "$error" "$T/lst/$name.err"; then
            ok "$name: umoci refuses it as documented ($error)"
        else
            bad "$name: umoci failed, but not with \"$error\": $(cat "$T/lst/$name.err")"
        fi
    fi
done
# 4. same final tree
for row in "${rows[@]}"; do
    read -r name unpack reflayout same error <<<"$row"
    # Images umoci cannot read are tied to their reference by identical diff_ids (verify).
    if [[ $same != - && $unpack == ok ]]; then
        if [[ -s $T/lst/$same.txt ]] && cmp -s "$T/lst/$same.txt" "$T/lst/$name.txt"; then
            ok "$name: final tree equals $same's (umoci listings identical)"
        else
            bad "$name: final tree differs from $same's: $(diff "$T/lst/$same.txt" "$T/lst/$name.txt" 2>&1 | head -5)"
        fi
    fi
done

# 5. run busybox's app the way umoci's runtime config says
if timeout 120 umoci unpack --image "$O/busybox:latest" "$T/bundle" >"$T/unpack.log" 2>&1; then
    python3 - "$T/bundle" "$O/manifest.json" >"$T/run.txt" 2>&1 <<'EOF'
import json, os, subprocess, sys
bundle, manifest = sys.argv[1:]
proc = json.load(open(os.path.join(bundle, "config.json")))["process"]
want = json.load(open(manifest))["images"]["busybox"]["expect"]["run"]
root = os.path.join(bundle, "rootfs")
def enter():
    os.chroot(root)
    os.chdir(proc["cwd"])
    os.setgid(proc["user"]["gid"])
    os.setgroups([])
    os.setuid(proc["user"]["uid"])
env = dict(e.split("=", 1) for e in proc["env"])
r = subprocess.run(proc["args"], env=env, preexec_fn=enter, capture_output=True, text=True, timeout=30)
got = r.stdout.splitlines()
print("ok" if (got, r.returncode) == (want["console"], want["exit_code"]) else "FAIL",
      f"busybox: /app/run.sh console and exit code {r.returncode}", "" if got == want["console"] else f"got {got} {r.stderr!r}")
EOF
    cat "$T/run.txt"
    if grep -q '^ok ' "$T/run.txt"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
else
    bad "busybox: umoci unpack for the run check: $(cat "$T/unpack.log")"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
