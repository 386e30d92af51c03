#!/usr/bin/env bash
# The registry lab for oci2eif's end-to-end tests: real registries (Debian's docker-registry)
# on 127.0.0.1 only, on free ports, all serving one storage directory:
#
#   plain     HTTP, no auth                      LAB_PLAIN
#   basic     HTTPS (lab CA) + htpasswd          LAB_BASIC
#   token     HTTPS (lab CA) + bearer tokens     LAB_TOKEN   (issued by tokens.py, LAB_TOKENS)
#   redirect  HTTP, blob GETs answered 307 to a static file server on another port (LAB_REDIRECT)
#   redirauth HTTPS + htpasswd, blob GETs answered 307 to the same file server (LAB_REDIRAUTH)
#   fault     faults.py, a fault-injecting proxy in front of `plain` (LAB_FAULT)
#   plain2    HTTP, no auth, its own storage (LAB_PLAIN2): a second registry, e.g. a mirror
#
# The file server (files.py, LAB_FILES) logs whether each request carried an Authorization
# header (DIR/logs/files.requests) and refuses those that did.
#
#   lab.sh up DIR      start everything, wait (bounded) until each answers, write DIR/env
#   lab.sh down DIR    stop what `up` started, by recorded PID
# A missing package is an error, not a skip: the tests that use the lab must fail loudly.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:?usage: lab.sh up|down DIR}
D=${2:?usage: lab.sh up|down DIR}
LAB_USER=labuser
LAB_PASS=lab-password-1
LAB_REFRESH=lab-refresh-token-1

running() { # PID: alive and not a zombie (an orphan may stay a zombie for a while)
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

down() {
  for f in "$D"/pids/*.pid; do
    [ -f "$f" ] || continue
    local pid
    pid=$(cat "$f")
    if running "$pid"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do running "$pid" || break; sleep 0.1; done
      running "$pid" && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$f"
  done
}

if [ "$cmd" = down ]; then
  down
  exit 0
fi
[ "$cmd" = up ] || { echo "lab.sh: unknown command $cmd" >&2; exit 2; }

for tool in docker-registry htpasswd openssl curl python3 skopeo; do
  command -v "$tool" >/dev/null || {
    echo "lab.sh: $tool is missing; install the test packages (scripts/install-deps.sh)" >&2
    exit 1
  }
done
mkdir -p "$D"/{pki,conf,pids,logs,storage,storage2}
D=$(cd "$D" && pwd)

# Nine consecutive ports, reserved against the other suites and outside the ephemeral range
# (see ../ports.py for why picking "a free port" is not enough).
B=$(python3 "$HERE/../ports.py" 9)
P_PLAIN=$B P_BASIC=$((B + 1)) P_TOKEN=$((B + 2)) P_TOKENS=$((B + 3))
P_REDIRECT=$((B + 4)) P_FILES=$((B + 5)) P_FAULT=$((B + 6)) P_REDIRAUTH=$((B + 7))
P_PLAIN2=$((B + 8))

# A throwaway CA, a server certificate for 127.0.0.1/localhost, and a token-signing certificate.
(
  cd "$D/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=oci2eif lab CA" \
    -keyout ca.key -out ca.crt -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key \
    -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile server.ext -out server.crt 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=oci2eif lab tokens" \
    -keyout token.key -out token.crt 2>/dev/null
)
htpasswd -Bbn "$LAB_USER" "$LAB_PASS" >"$D/conf/htpasswd" # the registry needs bcrypt

registry_conf() { # PORT EXTRA-YAML [STORAGE]
  cat <<EOF2
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: ${3:-$D/storage}
http:
  addr: 127.0.0.1:$1
  secret: lab-only-not-secret
$2
EOF2
}
TLS="  tls:
    certificate: $D/pki/server.crt
    key: $D/pki/server.key"
registry_conf "$P_PLAIN" "" >"$D/conf/plain.yml"
registry_conf "$P_BASIC" "$TLS
auth:
  htpasswd:
    realm: oci2eif-lab
    path: $D/conf/htpasswd" >"$D/conf/basic.yml"
registry_conf "$P_TOKEN" "$TLS
auth:
  token:
    realm: https://127.0.0.1:$P_TOKENS/token
    service: oci2eif-lab
    issuer: oci2eif-lab-tokens
    rootcertbundle: $D/pki/token.crt" >"$D/conf/token.yml"
registry_conf "$P_REDIRECT" "middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://127.0.0.1:$P_FILES" >"$D/conf/redirect.yml"
registry_conf "$P_REDIRAUTH" "$TLS
auth:
  htpasswd:
    realm: oci2eif-lab
    path: $D/conf/htpasswd
middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://127.0.0.1:$P_FILES" >"$D/conf/redirauth.yml"
registry_conf "$P_PLAIN2" "" "$D/storage2" >"$D/conf/plain2.yml"

start() { # NAME COMMAND...
  local name=$1
  shift
  setsid "$@" >"$D/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$D/pids/$name.pid"
}
await() { # NAME URL WANTED-STATUS [curl options]: at most 15 s
  local name=$1 url=$2 want=$3 got=""
  shift 3
  for _ in $(seq 1 150); do
    got=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true)
    [ "$got" = "$want" ] && return 0
    running "$(cat "$D/pids/$name.pid")" || break
    sleep 0.1
  done
  echo "lab.sh: $name did not come up (last status '$got'):" >&2
  tail -n 20 "$D/logs/$name.log" >&2
  down
  exit 1
}
trap 'down' ERR
start plain docker-registry serve "$D/conf/plain.yml"
start basic docker-registry serve "$D/conf/basic.yml"
start token docker-registry serve "$D/conf/token.yml"
start redirect docker-registry serve "$D/conf/redirect.yml"
start redirauth docker-registry serve "$D/conf/redirauth.yml"
start plain2 docker-registry serve "$D/conf/plain2.yml"
start files python3 "$HERE/files.py" --port "$P_FILES" --directory "$D/storage" \
  --log "$D/logs/files.requests"
start tokens python3 "$HERE/tokens.py" --port "$P_TOKENS" --cert "$D/pki/server.crt" \
  --key "$D/pki/server.key" --signing-key "$D/pki/token.key" --signing-cert "$D/pki/token.crt" \
  --issuer oci2eif-lab-tokens --service oci2eif-lab --user "$LAB_USER:$LAB_PASS" \
  --refresh-token "$LAB_REFRESH" --log "$D/logs/tokens.requests"
start fault python3 "$HERE/faults.py" --port "$P_FAULT" --upstream "127.0.0.1:$P_PLAIN" \
  --log "$D/logs/fault.requests"

await plain "http://127.0.0.1:$P_PLAIN/v2/" 200
await basic "https://127.0.0.1:$P_BASIC/v2/" 401 --cacert "$D/pki/ca.crt"
await token "https://127.0.0.1:$P_TOKEN/v2/" 401 --cacert "$D/pki/ca.crt"
await redirect "http://127.0.0.1:$P_REDIRECT/v2/" 200
await redirauth "https://127.0.0.1:$P_REDIRAUTH/v2/" 401 --cacert "$D/pki/ca.crt"
await plain2 "http://127.0.0.1:$P_PLAIN2/v2/" 200
await files "http://127.0.0.1:$P_FILES/" 200
await tokens "https://127.0.0.1:$P_TOKENS/token?service=oci2eif-lab" 200 --cacert "$D/pki/ca.crt"
await fault "http://127.0.0.1:$P_FAULT/_fault" 200
trap - ERR

cat >"$D/env" <<EOF2
LAB_DIR=$D
LAB_PLAIN=127.0.0.1:$P_PLAIN
LAB_BASIC=127.0.0.1:$P_BASIC
LAB_TOKEN=127.0.0.1:$P_TOKEN
LAB_TOKENS=127.0.0.1:$P_TOKENS
LAB_REDIRECT=127.0.0.1:$P_REDIRECT
LAB_FILES=127.0.0.1:$P_FILES
LAB_FAULT=127.0.0.1:$P_FAULT
LAB_REDIRAUTH=127.0.0.1:$P_REDIRAUTH
LAB_PLAIN2=127.0.0.1:$P_PLAIN2
LAB_CA=$D/pki/ca.crt
LAB_USER=$LAB_USER
LAB_PASS=$LAB_PASS
LAB_REFRESH=$LAB_REFRESH
EOF2
echo "lab.sh: up on ports $B-$((B + 8)) ($D/env)"
