#!/usr/bin/env bash
# A real local Kubernetes control plane on loopback: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler. No container engine needed.
#
#   hack/control-plane.sh build   build (or find) the binaries only
#   hack/control-plane.sh up      build if needed, start, wait for /readyz, write .local/kubeconfig
#   hack/control-plane.sh env     print the KUBECONFIG= line
#   hack/control-plane.sh status  say whether it runs
#   hack/control-plane.sh down    stop exactly what `up` started, remove its data
#   hack/control-plane.sh apiserver-stop | apiserver-start   an API server outage, for chaos tests
#   RESILIENCE_APISERVER_ARGS="--watch-cache=false ..."      extra kube-apiserver flags for `up`
#   RESILIENCE_CONTROLLER_MANAGER_ARGS="..."                 extra kube-controller-manager flags (last one wins)
#
# Binaries: $KUBEBUILDER_ASSETS (envtest convention) when it holds etcd and kube-apiserver,
# otherwise built once from Debian's Kubernetes source package into
# ~/.cache/resilience-operator/kubernetes-$K8S_VERSION/.
set -euo pipefail

K8S_VERSION=1.20.2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${RESILIENCE_LOCAL_DIR:-$ROOT/.local}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/resilience-operator
BIN_DIR=$CACHE/kubernetes-$K8S_VERSION
RUN=$STATE/control-plane

log() { printf '[control-plane] %s\n' "$*" >&2; }
die() { printf '[control-plane] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_ready=
apt_update_once() {
  [ -n "$apt_ready" ] && return 0
  # Source packages: copy the system's own Debian sources entry with Types: deb-src,
  # so no registry host is named here.
  if [ -f /etc/apt/sources.list.d/debian.sources ] && ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      as_root tee /etc/apt/sources.list.d/resilience-debian-src.sources >/dev/null
  elif [ -f /etc/apt/sources.list ] && ! grep -qs '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; then
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      as_root tee /etc/apt/sources.list.d/resilience-debian-src.list >/dev/null
  fi
  as_root apt-get update -qq
  apt_ready=1
}

need_packages() {
  local missing=()
  # Installed means "install ok installed": a removed package keeps its config files and a dpkg entry.
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_update_once
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

assets_dir() {
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ]; then
    echo "$KUBEBUILDER_ASSETS"
  else
    echo "$BIN_DIR"
  fi
}

build() {
  local dir; dir=$(assets_dir)
  need_packages openssl curl
  if [ "$dir" != "$BIN_DIR" ]; then log "using KUBEBUILDER_ASSETS=$dir"; return 0; fi
  need_packages etcd-server
  if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/kube-controller-manager" ] && [ -x "$BIN_DIR/kube-scheduler" ]; then
    ln -sf "$(command -v etcd)" "$BIN_DIR/etcd"
    return 0
  fi
  mkdir -p "$CACHE"
  exec 9>"$CACHE/build.lock"
  log "waiting for the build lock"
  flock 9
  if [ -x "$BIN_DIR/kube-scheduler" ]; then ln -sf "$(command -v etcd)" "$BIN_DIR/etcd"; return 0; fi
  local started=$SECONDS
  need_packages golang-go golang-github-modern-go-reflect2-dev rsync jq dpkg-dev make
  local work="$CACHE/build-$K8S_VERSION"
  rm -rf "$work"; mkdir -p "$work"
  log "fetching Debian's kubernetes source package (Kubernetes $K8S_VERSION)"
  (cd "$work" && apt-get source --download-only kubernetes >/dev/null 2>&1) || { apt_update_once; (cd "$work" && apt-get source --download-only kubernetes >/dev/null); }
  (cd "$work" && dpkg-source --no-check -x ./*.dsc src >/dev/null)
  local src="$work/src"
  [ -d "$src/vendor" ] || die "the source package has no vendor/ folder"
  # The vendored reflect2 v1.0.1 crashes at run time on Go >= 1.18; Debian's copy is fixed.
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$src/vendor/github.com/modern-go/reflect2"
  rm -f "$src/vendor/github.com/modern-go/reflect2/go.mod"
  mkdir -p "$work/.go/src/k8s.io"
  ln -s "$src" "$work/.go/src/k8s.io/kubernetes"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler (several minutes)"
  (cd "$work/.go/src/k8s.io/kubernetes" &&
    GOPATH="$work/.go" GO111MODULE=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GOCACHE="$work/.gocache" \
      make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler" >"$work/build.log" 2>&1) ||
    { tail -40 "$work/build.log" >&2; die "build failed (log: $work/build.log)"; }
  mkdir -p "$BIN_DIR.tmp"
  cp "$src"/_output/bin/kube-apiserver "$src"/_output/bin/kube-controller-manager "$src"/_output/bin/kube-scheduler "$BIN_DIR.tmp/"
  rm -rf "$BIN_DIR"; mv "$BIN_DIR.tmp" "$BIN_DIR"
  ln -sf "$(command -v etcd)" "$BIN_DIR/etcd"
  rm -rf "$work"
  log "built in $((SECONDS - started)) s into $BIN_DIR"
}

free_port() {
  python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
EOF
}

running() { [ -f "$RUN/pids" ] && while read -r _ pid; do kill -0 "$pid" 2>/dev/null || return 1; done <"$RUN/pids"; }

pki() {
  local d=$RUN/pki; mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=resilience-local-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1\n' >"$d/ext"
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 365 \
    -extfile "$d/ext" -out "$d/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

kubeconfig() { # file server token user
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $2
    certificate-authority: $RUN/pki/ca.crt
users:
- name: $4
  user:
    token: $3
contexts:
- name: local
  context: {cluster: local, user: $4, namespace: default}
current-context: local
EOF
}

start() { # name args...
  local name=$1; shift
  nohup "$@" >"$RUN/$name.log" 2>&1 &
  echo "$name $!" >>"$RUN/pids"
}

up() {
  if running; then log "already running"; env_line; return 0; fi
  [ -d "$RUN" ] && down_quiet
  build
  local dir; dir=$(assets_dir)
  local t0=$SECONDS
  mkdir -p "$RUN"; : >"$RUN/pids"
  pki
  local etcd_port etcd_peer api_port token
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  token=$(openssl rand -hex 16)
  echo "$token,admin,admin,system:masters" >"$RUN/tokens.csv"
  start etcd "$dir/etcd" --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer" --name default \
    --unsafe-no-fsync --quota-backend-bytes 2147483648
  local api_cmd=("$dir/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$RUN/pki/apiserver.crt" --tls-private-key-file "$RUN/pki/apiserver.key" \
    --client-ca-file "$RUN/pki/ca.crt" \
    --token-auth-file "$RUN/tokens.csv" \
    --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-signing-key-file "$RUN/pki/sa.key" \
    --service-account-key-file "$RUN/pki/sa.pub" \
    --api-audiences https://kubernetes.default.svc \
    --service-cluster-ip-range 10.96.0.0/16 \
    --disable-admission-plugins ServiceAccount \
    --allow-privileged=true --endpoint-reconciler-type none \
    --watch-cache=true --profiling=false)
  # Extra flags (chaos tests: --watch-cache=false, a short --etcd-compaction-interval); later flags win.
  # shellcheck disable=SC2206
  [ -n "${RESILIENCE_APISERVER_ARGS:-}" ] && api_cmd+=($RESILIENCE_APISERVER_ARGS)
  declare -p api_cmd >"$RUN/apiserver.cmd"
  start kube-apiserver "${api_cmd[@]}"
  local server="https://127.0.0.1:$api_port"
  echo "$token" >"$RUN/token"
  kubeconfig "$RUN/admin.kubeconfig" "$server" "$token" admin
  wait_ready "$server" "$token"
  # No volume binding or attaching (nothing mounts volumes here), but pvc-protection runs: the API
  # server puts its finalizer on every PersistentVolumeClaim, and without it a deleted claim would
  # stay Terminating for good (restore tests of StatefulSet targets delete their scratch claims).
  # No Endpoints controller: the simulated pods have loopback IPs, which an Endpoints object may not
  # hold, so it would retry every Service for good (about 20 failed writes and events a second at
  # 1,000 Services, taking CPU from everything else). EndpointSlices accept them: the tests that
  # check what a Service serves read those.
  if [ -x "$dir/kube-controller-manager" ]; then
    start kube-controller-manager "$dir/kube-controller-manager" \
      --kubeconfig "$RUN/admin.kubeconfig" --authentication-kubeconfig "$RUN/admin.kubeconfig" \
      --authorization-kubeconfig "$RUN/admin.kubeconfig" \
      --bind-address 127.0.0.1 --secure-port 0 --port 0 \
      --leader-elect=false --controllers '*,-serviceaccount-token,-tokencleaner,-bootstrapsigner,-csrsigning,-csrapproving,-csrcleaner,-nodeipam,-route,-service,-cloud-node-lifecycle,-persistentvolume-binder,-attachdetach,-pv-protection,-ephemeral-volume,-root-ca-cert-publisher,-endpoint' \
      --service-account-private-key-file "$RUN/pki/sa.key" --root-ca-file "$RUN/pki/ca.crt" \
      --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 \
      --kube-api-qps 200 --kube-api-burst 400 \
      --node-monitor-grace-period 40s --pod-eviction-timeout 5m ${RESILIENCE_CONTROLLER_MANAGER_ARGS:-}
  fi
  if [ -x "$dir/kube-scheduler" ]; then
    start kube-scheduler "$dir/kube-scheduler" --kubeconfig "$RUN/admin.kubeconfig" \
      --authentication-kubeconfig "$RUN/admin.kubeconfig" --authorization-kubeconfig "$RUN/admin.kubeconfig" \
      --bind-address 127.0.0.1 --secure-port 0 --port 0 --leader-elect=false \
      --kube-api-qps 200 --kube-api-burst 400
  fi
  mkdir -p "$STATE"
  cp "$RUN/admin.kubeconfig" "$STATE/kubeconfig"
  echo "$server" >"$RUN/server"
  log "ready at $server in $((SECONDS - t0)) s; $(env_line)"
}

env_line() { echo "KUBECONFIG=$STATE/kubeconfig"; }

wait_ready() { # server token
  local i
  for i in $(seq 1 300); do
    if curl -sf --cacert "$RUN/pki/ca.crt" -H "Authorization: Bearer $2" "$1/readyz" >/dev/null 2>&1; then return 0; fi
    running || { tail -20 "$RUN"/*.log >&2; die "a process exited while starting (logs in $RUN)"; }
    sleep 0.1
  done
  tail -20 "$RUN/kube-apiserver.log" >&2; die "kube-apiserver not ready after 30 s"
}

# Stops the API server alone (etcd, controller-manager and scheduler keep running), as an outage would.
apiserver_stop() {
  [ -f "$RUN/pids" ] || die "not running"
  local pid; pid=$(awk '$1 == "kube-apiserver" {print $2}' "$RUN/pids")
  [ -n "$pid" ] || { log "kube-apiserver is not running"; return 0; }
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  sed -i '/^kube-apiserver /d' "$RUN/pids"
  log "kube-apiserver stopped"
}

# Starts it again with the flags it had (plus RESILIENCE_APISERVER_ARGS, if set now), on the same port.
apiserver_start() {
  [ -f "$RUN/apiserver.cmd" ] || die "not running"
  if awk '$1 == "kube-apiserver"' "$RUN/pids" | grep -q .; then log "kube-apiserver already running"; return 0; fi
  # shellcheck disable=SC1091
  source "$RUN/apiserver.cmd"
  # shellcheck disable=SC2206
  [ -n "${RESILIENCE_APISERVER_ARGS:-}" ] && api_cmd+=($RESILIENCE_APISERVER_ARGS)
  nohup "${api_cmd[@]}" >>"$RUN/kube-apiserver.log" 2>&1 &
  echo "kube-apiserver $!" >>"$RUN/pids"
  wait_ready "$(cat "$RUN/server")" "$(cat "$RUN/token")"
  log "kube-apiserver started"
}

down_quiet() {
  if [ -f "$RUN/pids" ]; then
    local name pid
    while read -r name pid; do kill "$pid" 2>/dev/null || true; done <"$RUN/pids"
    for _ in $(seq 1 50); do
      local alive=0
      while read -r name pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$RUN/pids"
      [ $alive = 0 ] && break; sleep 0.1
    done
    while read -r name pid; do kill -9 "$pid" 2>/dev/null || true; done <"$RUN/pids"
  fi
  rm -rf "$RUN" "$STATE/kubeconfig"
  rmdir "$STATE" 2>/dev/null || true
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down_quiet; log "stopped" ;;
  env) env_line ;;
  apiserver-stop) apiserver_stop ;;
  apiserver-start) apiserver_start ;;
  status) if running; then echo "running at $(cat "$RUN/server")"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 build|up|down|env|status|apiserver-stop|apiserver-start" >&2; exit 2 ;;
esac
