#!/usr/bin/env bash
# registry_more_e2e.sh OCI2EIF: the registry client's concurrency, mirrors and credential paths,
# against its own lab (reglab/lab.sh): concurrent builds share the cache and fetch each blob once;
# layers download in parallel, bounded; credentials do not follow a cross-origin redirect; mirrors
# with fallback to the origin; the Docker schema2 image; credential helpers, identity tokens,
# /etc/docker/certs.d; schema1 refused. Fails (never skips) when a tool is missing.
set -uo pipefail
BIN=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
W=$(mktemp -d /tmp/oci2eif-registry-more.XXXXXX)
LAB=$W/lab
CERTS_D="" # removed on exit, with the parents this test created
MADE=()
cleanup() {
  bash "$HERE/reglab/lab.sh" down "$LAB"
  [ -z "$CERTS_D" ] || rm -rf "$CERTS_D"
  for d in "${MADE[@]}"; do rmdir "$d" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
# shellcheck source=lib/checks.sh
. "$HERE/lib/checks.sh"
not() { ! "$@"; }
check() { # NAME COMMAND...: a plain assertion
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

bash "$HERE/reglab/lab.sh" up "$LAB" || { echo "FAIL: the registry lab did not start"; exit 1; }
# shellcheck disable=SC1091
. "$LAB/env"
python3 "$SRC/tests/images/make_images.py" "$W/images" >/dev/null || { echo "FAIL: images"; exit 1; }
# skopeo's oci: transport cannot read a Docker-typed manifest: push schema2 from a dir: copy.
python3 - "$W/images/schema2" "$W/schema2.dir" <<'PY' || { echo "FAIL: schema2 dir"; exit 1; }
import json, os, shutil, sys
src, out = sys.argv[1:]
os.makedirs(out)
blob = lambda d: os.path.join(src, "blobs", "sha256", d[7:])
digest = json.load(open(os.path.join(src, "index.json")))["manifests"][0]["digest"]
manifest = json.load(open(blob(digest)))
shutil.copy(blob(digest), os.path.join(out, "manifest.json"))
for d in [manifest["config"]] + manifest["layers"]:
    shutil.copy(blob(d["digest"]), os.path.join(out, d["digest"][7:]))
open(os.path.join(out, "version"), "w").write("Directory Transport Version: 1.1\n")
PY
push() { skopeo copy -q --dest-tls-verify=false --preserve-digests "$@"; }
push oci:"$W/images/busybox:latest" docker://"$LAB_PLAIN/test/busybox:latest" &&
  push oci:"$W/images/busybox-relayered:latest" docker://"$LAB_PLAIN/test/relayered:latest" &&
  push dir:"$W/schema2.dir" docker://"$LAB_PLAIN/test/schema2:latest" &&
  push oci:"$W/images/busybox:latest" docker://"$LAB_PLAIN/test/both:latest" &&
  push oci:"$W/images/busybox:latest" docker://"$LAB_PLAIN2/test/both:latest" &&
  push oci:"$W/images/busybox:latest" docker://"$LAB_PLAIN2/test/origin-only:latest" ||
  { echo "FAIL: skopeo push"; exit 1; }

# shellcheck source=lib/build.sh
. "$HERE/lib/build.sh"
export DOCKER_CONFIG=$W/no-docker-config # no credentials unless a test sets them
mkdir -p "$DOCKER_CONFIG"
for img in busybox busybox-relayered; do
  build --oci-layout "$W/images/$img:latest" >"$W/pcr.$img" 2>"$W/err" ||
    { echo "FAIL: local build of $img"; cat "$W/err"; exit 1; }
done
same_pcrs() { # NAME FILE [IMAGE]
  if cmp -s "$W/pcr.${3:-busybox}" "$2"; then pass "$1: PCRs equal the local layout's"; else
    fail "$1: PCRs differ"; diff "$W/pcr.${3:-busybox}" "$2"; fi
}
F=$LAB_FAULT
FLOG=$LAB_DIR/logs/fault.requests
touch "$FLOG"
fault() { curl -fsS -X POST "http://$F/_fault?mode=$1&arg=$2&count=${3:-1}" >/dev/null; }
nofault() { curl -fsS -X DELETE "http://$F/_fault" >/dev/null; }
mark() { wc -l <"$FLOG"; }
blob_gets_since() { tail -n +$(($1 + 1)) "$FLOG" | awk '$1 == "GET" && $2 ~ /\/blobs\/sha256:/'; }

# --- the Docker schema2 image from a registry
fresh_cache
expect_ok "schema2 image build" build --image "$LAB_PLAIN/test/schema2:latest" "${RC[@]}"
same_pcrs "schema2 from the registry" "$W/out"

# --- layers download in parallel, bounded: overlapping blob GETs in the proxy's log
for par in 2 3; do
  fresh_cache
  fault delay 700 100
  m=$(mark)
  expect_ok "relayered image, --parallel-downloads $par" \
    build --image "$F/test/relayered:latest" "${RC[@]}" --parallel-downloads "$par"
  same_pcrs "relayered, $par at a time" "$W/out" busybox-relayered
  most=$(python3 "$HERE/reglab/overlap.py" "$FLOG" "$m")
  check "at most and at least $par layer downloads overlapped (saw $most)" [ "$most" = "$par" ]
done
fresh_cache
m=$(mark)
expect_ok "relayered image, --parallel-downloads 1" \
  build --image "$F/test/relayered:latest" "${RC[@]}" --parallel-downloads 1
most=$(python3 "$HERE/reglab/overlap.py" "$FLOG" "$m")
check "one at a time with --parallel-downloads 1 (saw $most)" [ "$most" = 1 ]
nofault

# --- two builds of one image at once, one cache: each blob fetched once
fresh_cache
fault delay 700 100
m=$(mark)
"$BIN" pull "$F/test/busybox:latest" --oci-layout "$W/pull1" "${RC[@]}" >/dev/null 2>"$W/err1" &
p1=$!
"$BIN" pull "$F/test/busybox:latest" --oci-layout "$W/pull2" "${RC[@]}" >/dev/null 2>"$W/err2" &
p2=$!
wait $p1 && wait $p2 && pass "two concurrent pulls succeeded" ||
  { fail "concurrent pulls"; cat "$W/err1" "$W/err2"; }
nofault
blob_gets_since "$m" | awk '{print $2}' | sort | uniq -c >"$W/counts"
once_each() { [ "$(wc -l <"$W/counts")" = 3 ] && [ -z "$(awk '$1 != 1' "$W/counts")" ]; }
check "3 blobs (config + 2 layers), each fetched exactly once: $(awk '{print $1}' "$W/counts" | tr '\n' ' ')" once_each
check "one pull waited for the other's download" grep -q "being fetched by another build" "$W/err1" "$W/err2"
check "both pulls wrote the same layout" diff -r "$W/pull1" "$W/pull2"

# --- credentials do not follow a 307 to another origin
mkdir -p "$W/good"
auth() { printf '%s' "$1" | base64 -w0; }
printf '{"auths":{"%s":{"auth":"%s"}}}' "$LAB_REDIRAUTH" "$(auth "$LAB_USER:$LAB_PASS")" \
  >"$W/good/config.json"
fresh_cache
expect_ok "htpasswd registry redirecting blobs to another origin" \
  env DOCKER_CONFIG="$W/good" "$BIN" build --image "$LAB_REDIRAUTH/test/busybox:latest" \
  --registry-ca "$LAB_CA" "${RC[@]}" --kernel "$KERNEL" --kernel-config "$CONFIG" \
  --output "$W/eif.redirauth"
same_pcrs "redirected blobs behind auth" "$W/out"
FILES_LOG=$LAB_DIR/logs/files.requests
check "the blob store served the blobs ($(grep -c ' 200 -$' "$FILES_LOG") requests)" \
  [ "$(grep -c '^GET /docker/registry/v2/blobs/.* 200 -$' "$FILES_LOG")" -ge 3 ]
check "no request to the blob store carried an Authorization header" \
  [ "$(grep -c ' auth$' "$FILES_LOG")" = 0 ]

# --- mirrors, falling back to the origin
fresh_cache
m=$(mark)
expect_ok "through a mirror that has the image (the origin lacks it)" \
  build --image "$LAB_PLAIN2/test/busybox:latest" --registry-mirror "$LAB_PLAIN2=http://$F" "${RC[@]}"
same_pcrs "via the mirror" "$W/out"
check "the mirror served manifest and blobs" grep -q "from mirror http://$F" "$W/err"
check "the mirror saw 3 blob GETs" [ "$(blob_gets_since "$m" | wc -l)" = 3 ]
fresh_cache
expect_ok "the mirror lacks the image, the origin has it" \
  build --image "$LAB_PLAIN2/test/origin-only:latest" --registry-mirror "$LAB_PLAIN2=http://$LAB_PLAIN" "${RC[@]}"
same_pcrs "fallback on 404" "$W/out"
check "the 404 was reported and the origin asked" grep -q "not found); trying registry $LAB_PLAIN2" "$W/err"
fresh_cache
expect_ok "the mirror is down (connection refused)" \
  build --image "$LAB_PLAIN2/test/origin-only:latest" --registry-mirror "$LAB_PLAIN2=http://127.0.0.1:9" "${RC[@]}"
same_pcrs "fallback when the mirror is down" "$W/out"
fresh_cache
fault status 503 100
expect_ok "the mirror answers 503 for blobs" \
  build --image "$LAB_PLAIN2/test/both:latest" --registry-mirror "$LAB_PLAIN2=http://$F" "${RC[@]}"
nofault
same_pcrs "fallback on 503" "$W/out"
check "the origin served the blobs" \
  [ "$(grep -c '"GET /v2/test/both/blobs/sha256:[0-9a-f]* HTTP/1.1" 200' "$LAB_DIR/logs/plain2.log")" -ge 3 ]
fresh_cache
expect_ok "a docker.io mirror serves docker.io/test/busybox" \
  build --image docker.io/test/busybox:latest --registry-mirror "docker.io=http://$LAB_PLAIN" "${RC[@]}"
same_pcrs "docker.io via a mirror" "$W/out"
expect_error "a malformed --registry-mirror" "expected DOMAIN=URL" \
  "$BIN" rootfs --image "$LAB_PLAIN/test/busybox" --registry-mirror "http://$LAB_PLAIN" "${RC[@]}"

# --- credential helpers and identity tokens
mkdir -p "$W/bin" "$W/helper" "$W/store" "$W/idtoken" "$W/badtoken"
cat >"$W/bin/docker-credential-test" <<SH
#!/bin/sh
[ "\$1" = get ] || exit 3
read -r server
echo "\$server" >>"$W/helper.asked"
case "\$server" in
  $LAB_BASIC) printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "\$server" "$LAB_USER" "$LAB_PASS" ;;
  $LAB_TOKEN) printf '{"ServerURL":"%s","Username":"<token>","Secret":"%s"}' "\$server" "$LAB_REFRESH" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
SH
chmod +x "$W/bin/docker-credential-test"
printf '{"credHelpers":{"%s":"test"}}' "$LAB_BASIC" >"$W/helper/config.json"
printf '{"credsStore":"test"}' >"$W/store/config.json"
printf '{"auths":{"%s":{"identitytoken":"%s"}}}' "$LAB_TOKEN" "$LAB_REFRESH" >"$W/idtoken/config.json"
printf '{"auths":{"%s":{"identitytoken":"not-the-token"}}}' "$LAB_TOKEN" >"$W/badtoken/config.json"
HPATH=$W/bin:$PATH
fresh_cache
expect_ok "Basic auth from a credHelpers helper" env PATH="$HPATH" DOCKER_CONFIG="$W/helper" \
  "$BIN" rootfs --image "$LAB_BASIC/test/busybox:latest" --registry-ca "$LAB_CA" "${RC[@]}"
check "the helper was asked for $LAB_BASIC" grep -qx "$LAB_BASIC" "$W/helper.asked"
fresh_cache
expect_ok "an identity token from a credsStore helper" env PATH="$HPATH" DOCKER_CONFIG="$W/store" \
  "$BIN" rootfs --image "$LAB_TOKEN/test/busybox:latest" --registry-ca "$LAB_CA" "${RC[@]}"
fresh_cache
expect_ok "an identity token from auths" env DOCKER_CONFIG="$W/idtoken" \
  "$BIN" rootfs --image "$LAB_TOKEN/test/busybox:latest" --registry-ca "$LAB_CA" "${RC[@]}"
check "the token server granted two refresh-token requests" \
  [ "$(grep -c "^$LAB_USER/refresh repository:test/busybox:pull 200" "$LAB_DIR/logs/tokens.requests")" -ge 2 ]
expect_error "a wrong identity token" "HTTP 401, the credentials were refused" \
  env DOCKER_CONFIG="$W/badtoken" "$BIN" rootfs --image "$LAB_TOKEN/test/busybox:latest" \
  --registry-ca "$LAB_CA" "${RC[@]}"
check "the refused token is not in the message" not grep -q "not-the-token" "$W/err"
expect_error "a helper that fails" "docker-credential-test get for $LAB_REDIRECT failed (exit status 1)" \
  env PATH="$HPATH" DOCKER_CONFIG="$W/store" "$BIN" rootfs --image "$LAB_REDIRECT/test/busybox:latest" "${RC[@]}"

# --- a CA from /etc/docker/certs.d/HOST:PORT/ca.crt
if [ "$(id -u)" = 0 ]; then
  [ -d /etc/docker ] || MADE=(/etc/docker/certs.d /etc/docker)
  [ -d /etc/docker/certs.d ] || [ -n "${MADE[*]}" ] || MADE=(/etc/docker/certs.d)
  CERTS_D=/etc/docker/certs.d/$LAB_TOKEN
  mkdir -p "$CERTS_D" && cp "$LAB_CA" "$CERTS_D/ca.crt"
  fresh_cache
  expect_ok "TLS trusted through /etc/docker/certs.d/$LAB_TOKEN/ca.crt" \
    "$BIN" rootfs --image "$LAB_TOKEN/test/busybox:latest" "${RC[@]}"
  rm -rf "$CERTS_D"
  expect_error "without it, TLS verification fails" "TLS certificate verification failed" \
    "$BIN" rootfs --image "$LAB_TOKEN/test/busybox:latest" "${RC[@]}"
else fail "certs.d: needs root to write /etc/docker/certs.d"; fi

# --- Docker schema 1 is refused
fault schema1 0 1
expect_error "a schema 1 manifest" "Docker schema 1 manifests are not supported" \
  "$BIN" rootfs --image "$F/test/busybox:latest" "${RC[@]}"
nofault

echo "registry more e2e: $failures failure(s)"
[ "$failures" = 0 ]
