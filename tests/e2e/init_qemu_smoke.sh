#!/usr/bin/env bash
# init.qemu_smoke: boots Debian's cloud kernel under QEMU with our x86_64 init and a busybox
# "image", laid out exactly as oci2eif's two ramdisks will be, and checks on the console that
# init ran the command with its argv, environment, working directory and user, and reported
# its exit status; then that bad input (unknown user, missing program, empty /cmd) is reported
# on the console and ends the boot without a kernel panic.
#   init_qemu_smoke.sh INIT_BINARY QEMU_BOOT_PY
# Fails (never skips) when the kernel, QEMU, busybox or cpio is missing: scripts/install-deps.sh
# installs them.
set -euo pipefail
init_bin=$1
qemu_boot=$2

fail() { echo "init_qemu_smoke: $*" >&2; exit 1; }

kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$kernel" ] || fail "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
[ -r "$kernel" ] || fail "$kernel is not readable"
command -v qemu-system-x86_64 >/dev/null ||
  fail "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
command -v cpio >/dev/null || fail "cpio missing (apt-get install cpio)"
busybox=/bin/busybox
[ -x "$busybox" ] || fail "$busybox missing (apt-get install busybox-static)"
[ -f "$init_bin" ] || fail "$init_bin missing: build the oci2eif-init-x86_64 target first"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/init_qemu_smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# newc archive of a staged directory: sorted names without "./", owned by root.
make_cpio() { # make_cpio DIR OUT
  (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0) >"$2"
}

# Ramdisk 1, the bootstrap: /dev and /init (no nsm.ko: this kernel has no NSM device).
boot=$tmp/bootstrap
mkdir -p "$boot/dev"
install -m 0755 "$init_bin" "$boot/init"
make_cpio "$boot" "$tmp/bootstrap.cpio"

# Ramdisk 2, the image: rootfs/ plus init's cmd, env, workdir and user files.
# make_image NAME CMD_LINES USER: writes $tmp/NAME.cpio.
make_image() {
  local user=$tmp/$1 root=$tmp/$1/rootfs
  mkdir -p "$root/bin" "$root/etc" "$root/app/work"
  install -m 0755 "$busybox" "$root/bin/busybox"
  for tool in sh echo id pwd cat env; do
    ln -s busybox "$root/bin/$tool"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\nextra:x:2000:someone,app\nother:x:3000:someone\n' \
    >"$root/etc/group"
  cat >"$root/app/show.sh" <<'SCRIPT'
echo "argv: [$1] [$2]"
echo "greeting=$GREETING"
echo "pwd=$(pwd)"
echo "uid=$(id -u) gid=$(id -g)"
echo "groups=$(id -G)"
exit 3
SCRIPT
  printf '%s' "$2" >"$user/cmd"
  printf 'PATH=/bin\nGREETING=hello from /env\n' >"$user/env"
  printf '/app/work\n' >"$user/workdir"
  printf '%s\n' "$3" >"$user/user"
  make_cpio "$user" "$tmp/$1.cpio"
}

# nitro-cli's x86_64 command line; the runner adds console=ttyS0 panic=-1.
cmdline="reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd random.trust_cpu=on"

boot() { # boot NAME [qemu_boot.py --expect/--forbid args...]
  local name=$1
  shift
  echo "=== $name ==="
  python3 "$qemu_boot" --kernel "$kernel" \
    --initrd "$tmp/bootstrap.cpio" --initrd "$tmp/$name.cpio" \
    --append "$cmdline" --timeout 240 --log "$tmp/$name.log" \
    --forbid "Kernel panic" "$@" || { cat "$tmp/$name.log" >&2; exit 1; }
  echo "--- console from init on, kernel messages left out ---"
  sed -n '/Run \/init as init process/,$p' "$tmp/$name.log" | grep -v '^\[' || true
}

# The working case. argv[0] has no '/', so init must find sh through the image's PATH (/env).
make_image works $'sh\n/app/show.sh\nan argument with spaces\nsecond\n' app
boot works \
  --expect "oci2eif-init: no vsock heartbeat" \
  --expect "argv: [an argument with spaces] [second]" \
  --expect "greeting=hello from /env" \
  --expect "pwd=/app/work" \
  --expect "uid=1000 gid=1000" \
  --expect "groups=1000 2000" \
  --expect "oci2eif-init: sh exited with status 3"

# Input errors are reported and end the boot cleanly, without a kernel panic.
make_image unknown_user $'sh\n/app/show.sh\n' ghost
boot unknown_user \
  --expect "oci2eif-init: USER 'ghost': no user named 'ghost' in /etc/passwd" \
  --expect "oci2eif-init: shutting down" --forbid "argv:"

make_image not_found $'no-such-program\n' 1000:2000
boot not_found \
  --expect "oci2eif-init: cannot execute no-such-program (searched PATH=/bin): No such file or directory" \
  --expect "oci2eif-init: no-such-program exited with status 127"

make_image empty_cmd '' app
boot empty_cmd \
  --expect "oci2eif-init: /cmd is empty: its first item must name the program to run" \
  --expect "oci2eif-init: shutting down"
