#!/usr/bin/env bash
# registry_e2e.sh OCI2EIF: pulls through a real registry lab (reglab/lab.sh) and checks what
# issue 4 asks: plain HTTP, TLS with and without the lab CA, htpasswd Basic, bearer tokens, PCRs
# equal to a build from the local OCI layout, platforms, zstd, 307 redirects, the blob cache,
# and faults (reset, 503, truncation, corruption, stalls). Fails (never skips) when a tool is
# missing.
set -uo pipefail
BIN=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
W=$(mktemp -d /tmp/oci2eif-registry-e2e.XXXXXX)
LAB=$W/lab
cleanup() { bash "$HERE/reglab/lab.sh" down "$LAB"; rm -rf "$W"; }
trap cleanup EXIT
# shellcheck source=lib/checks.sh
. "$HERE/lib/checks.sh"

bash "$HERE/reglab/lab.sh" up "$LAB" || { echo "FAIL: the registry lab did not start"; exit 1; }
# shellcheck disable=SC1091
. "$LAB/env"
python3 "$SRC/tests/images/make_images.py" "$W/images" >/dev/null || { echo "FAIL: images"; exit 1; }
push() { skopeo copy -q --dest-tls-verify=false --preserve-digests "$@"; }
push oci:"$W/images/busybox:latest" docker://"$LAB_PLAIN/test/busybox:latest" &&
  push oci:"$W/images/zstd:latest" docker://"$LAB_PLAIN/test/zstd:latest" &&
  push --all oci:"$W/images/multiarch:latest" docker://"$LAB_PLAIN/test/multiarch:latest" ||
  { echo "FAIL: skopeo push"; exit 1; }

# shellcheck source=lib/build.sh
. "$HERE/lib/build.sh"

# --- the reference: the same image from its local OCI layout
build --oci-layout "$W/images/busybox:latest" >"$W/pcr.local" 2>"$W/err" ||
  { echo "FAIL: local build"; cat "$W/err"; exit 1; }
same_pcrs() { # NAME FILE
  if cmp -s "$W/pcr.local" "$2"; then pass "$1: PCRs equal the local layout's"; else
    fail "$1: PCRs differ"; diff "$W/pcr.local" "$2"; fi
}

# --- plain HTTP (loopback) and PCR equality
fresh_cache
expect_ok "plain HTTP build" build --image "$LAB_PLAIN/test/busybox:latest" "${RC[@]}"
cp "$W/out" "$W/pcr.plain"
same_pcrs "plain HTTP" "$W/pcr.plain"

# --- TLS
fresh_cache
expect_error "TLS without the lab CA" "TLS certificate verification failed" \
  build --image "$LAB_TOKEN/test/busybox:latest" "${RC[@]}"
expect_ok "TLS + token auth (anonymous pull) build" \
  build --image "$LAB_TOKEN/test/busybox:latest" --registry-ca "$LAB_CA" "${RC[@]}"
same_pcrs "TLS + token" "$W/out"

# --- htpasswd Basic and token auth with credentials from docker's config.json
mkdir -p "$W/good" "$W/bad"
auth() { printf '%s' "$1" | base64 -w0; }
printf '{"auths":{"%s":{"auth":"%s"},"%s":{"auth":"%s"}}}' "$LAB_BASIC" \
  "$(auth "$LAB_USER:$LAB_PASS")" "$LAB_TOKEN" "$(auth "$LAB_USER:$LAB_PASS")" >"$W/good/config.json"
printf '{"auths":{"%s":{"auth":"%s"},"%s":{"auth":"%s"}}}' "$LAB_BASIC" \
  "$(auth "$LAB_USER:not-the-password")" "$LAB_TOKEN" "$(auth "$LAB_USER:not-the-password")" \
  >"$W/bad/config.json"
fresh_cache
expect_error "Basic auth without credentials" "HTTP 401" \
  build --image "$LAB_BASIC/test/busybox:latest" --registry-ca "$LAB_CA" "${RC[@]}"
expect_error "Basic auth with a wrong password" "refused the configured credentials" \
  env DOCKER_CONFIG="$W/bad" "$BIN" rootfs --image "$LAB_BASIC/test/busybox:latest" \
  --registry-ca "$LAB_CA" "${RC[@]}"
if grep -q "not-the-password" "$W/err"; then fail "the password appears in the error"; fi
expect_ok "Basic auth build" env DOCKER_CONFIG="$W/good" "$BIN" build \
  --image "$LAB_BASIC/test/busybox:latest" --registry-ca "$LAB_CA" "${RC[@]}" \
  --kernel "$KERNEL" --kernel-config "$CONFIG" --output "$W/eif.basic"
same_pcrs "Basic auth" "$W/out"
expect_error "token auth with a wrong password" "HTTP 401, the credentials were refused" \
  env DOCKER_CONFIG="$W/bad" "$BIN" rootfs --image "$LAB_TOKEN/test/busybox:latest" \
  --registry-ca "$LAB_CA" "${RC[@]}"
fresh_cache
expect_ok "token auth with credentials" env DOCKER_CONFIG="$W/good" "$BIN" rootfs \
  --image "$LAB_TOKEN/test/busybox:latest" --registry-ca "$LAB_CA" "${RC[@]}"
if grep -q "^$LAB_USER repository:test/busybox:pull 200" "$LAB_DIR/logs/tokens.requests"; then
  pass "the token server issued a token to $LAB_USER"
else fail "no authenticated token request logged"; fi

# --- platforms, zstd
for pl in linux/amd64 linux/arm64; do
  if "$BIN" rootfs --image "$LAB_PLAIN/test/multiarch:latest" --platform "$pl" "${RC[@]}" \
    >"$W/out" 2>"$W/err" && "$BIN" rootfs --oci-layout "$W/images/multiarch:latest" \
    --platform "$pl" >"$W/local" 2>/dev/null && cmp -s "$W/out" "$W/local"; then
    pass "multiarch $pl resolves to the same tree as the local layout"
  else fail "multiarch $pl"; cat "$W/err"; fi
done
expect_error "multiarch, a platform the index lacks" "linux/s390x" \
  "$BIN" rootfs --image "$LAB_PLAIN/test/multiarch:latest" --platform linux/s390x "${RC[@]}"
expect_ok "zstd image build" build --image "$LAB_PLAIN/test/zstd:latest" "${RC[@]}"

# --- 307 blob redirects to another origin
fresh_cache
expect_ok "blob redirects (307 to another port)" \
  build --image "$LAB_REDIRECT/test/busybox:latest" "${RC[@]}"
same_pcrs "redirected blobs" "$W/out"

# --- pull to an OCI layout, then build offline
fresh_cache
expect_ok "pull to an OCI layout" "$BIN" pull "$LAB_PLAIN/test/busybox:latest" \
  --oci-layout "$W/pulled" "${RC[@]}"
expect_ok "offline build from the pulled layout" build --oci-layout "$W/pulled:latest"
same_pcrs "pulled layout" "$W/out"

# --- the cache, observed through the fault proxy's request log
F=$LAB_FAULT
LOG=$LAB_DIR/logs/fault.requests
blob_gets() { grep -c '^GET /v2/.*/blobs/' "$LOG" 2>/dev/null || true; }
fault() { curl -fsS -X POST "http://$F/_fault?mode=$1&arg=$2&count=${3:-1}" >/dev/null; }
fresh_cache
expect_ok "first build through the proxy" build --image "$F/test/busybox:latest" "${RC[@]}"
before=$(blob_gets)
expect_ok "second build through the proxy" build --image "$F/test/busybox:latest" "${RC[@]}"
if [ "$(blob_gets)" = "$before" ] && [ "$before" -gt 0 ]; then
  pass "the second build made no blob requests ($before before, none after)"
else fail "the second build fetched blobs again ($before → $(blob_gets))"; fi
victim=$(ls -S "$CACHE/blobs/sha256" | head -1)
printf 'X' | dd of="$CACHE/blobs/sha256/$victim" bs=1 seek=100 conv=notrunc status=none
expect_ok "build with a corrupted cached blob" build --image "$F/test/busybox:latest" "${RC[@]}"
if grep -q "cached blob sha256:$victim is corrupt" "$W/err" &&
  [ "$(sha256sum <"$CACHE/blobs/sha256/$victim" | cut -d' ' -f1)" = "$victim" ]; then
  pass "the corrupt cached blob was detected and fetched again"
else fail "corrupt cache blob not refetched"; cat "$W/err"; fi
same_pcrs "after the cache repair" "$W/out"

# --- faults (each on the first blob GET of a fresh cache)
fresh_cache
# One download at a time: the proxy hands its one fault to the first large enough blob, and
# with parallel fetches a small blob could take the fault and give it back too late.
fault reset 300000
expect_ok "connection reset mid-blob" build --image "$F/test/busybox:latest" "${RC[@]}" --parallel-downloads 1
grep -q "resum\|retrying" "$W/err" && pass "reset: the download resumed ($(grep -m1 'retrying\|resum' "$W/err" | cut -c1-160))" || fail "reset: no resume logged"
same_pcrs "after a reset" "$W/out"
fresh_cache
fault truncate 200000
expect_ok "truncated blob body" build --image "$F/test/busybox:latest" "${RC[@]}" --parallel-downloads 1
same_pcrs "after a truncation" "$W/out"
fresh_cache
fault status 503 2
expect_ok "503 with Retry-After, twice" build --image "$F/test/busybox:latest" "${RC[@]}"
grep -q "HTTP 503; retrying" "$W/err" && pass "503 retried" || fail "503: no retry logged"
fresh_cache
fault status 429 1
expect_ok "429 with Retry-After" build --image "$F/test/busybox:latest" "${RC[@]}"
fresh_cache
fault corrupt 0 1
expect_error "a corrupted byte" "digest mismatch" \
  build --image "$F/test/busybox:latest" "${RC[@]}"
if grep -q "blob sha256:" "$W/err" && [ -z "$(ls "$CACHE/blobs/sha256" 2>/dev/null | while read -r h; do [ "$(sha256sum <"$CACHE/blobs/sha256/$h" | cut -d' ' -f1)" = "$h" ] || echo bad; done)" ] &&
  [ -z "$(ls -A "$CACHE/tmp")" ]; then
  pass "the mismatch names the blob and nothing corrupt entered the cache"
else fail "corrupt: blob not named or cache polluted"; fi
fresh_cache
fault slow 20000 100
expect_error "a slow blob body" "timed out" build --image "$F/test/busybox:latest" \
  "${RC[@]}" --blob-timeout 1
curl -fsS -X DELETE "http://$F/_fault" >/dev/null

echo "registry e2e: $failures failure(s)"
[ "$failures" = 0 ]
