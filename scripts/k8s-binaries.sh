#!/usr/bin/env bash
# Builds, once, the parts of a real Kubernetes control plane that ferry's tests start (internal/k8s/k8stest):
# kube-apiserver, kube-controller-manager and kube-scheduler from the Go module proxy, kwok (fake nodes), etcd
# (Debian's etcd-server, else built from the module proxy) and the Gateway API standard CRDs. They go to a
# cache folder keyed by the versions and `go version`; when it is complete nothing is rebuilt. The folder is
# the only line printed on stdout (progress goes to stderr), so:
#
#   export FERRY_K8S_BIN="$(scripts/k8s-binaries.sh)"
#
# FERRY_K8S_CACHE overrides the cache root (default ~/.cache/ferry-k8s). A cold build takes minutes.
set -euo pipefail

K8S_VERSION=v1.31.4       # kube-apiserver, kube-controller-manager, kube-scheduler
KWOK_VERSION=v0.6.1       # the newest kwok known to build here; it cannot share the kubernetes wrapper module
GATEWAY_API_VERSION=v1.6.3 # the newest whose module works with Go 1.26; only its CRD YAML is used
ETCD_VERSION=v3.5.17      # built only when Debian's etcd-server cannot be installed

log() { echo "k8s-binaries: $*" >&2; }

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
go_version="$(go env GOVERSION)"
key="k8s-${K8S_VERSION}_kwok-${KWOK_VERSION}_gwapi-${GATEWAY_API_VERSION}_${go_version}"
root="${FERRY_K8S_CACHE:-$HOME/.cache/ferry-k8s}"
case "$root" in /*) ;; *) root="$PWD/$root" ;; esac # the script works in a temporary folder
out="$root/$key"

# The modules are fetched outside any project: the repository's go.mod must not see them.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

# etcd is checked on every run (cheap): a symbolic link to Debian's binary may lose its target.
ensure_etcd() {
  [ -x "$out/etcd" ] && return 0
  if [ ! -x /usr/bin/etcd ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian's etcd-server"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >&2 ||
      { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >&2; } ||
      log "etcd-server could not be installed; building etcd $ETCD_VERSION instead"
  fi
  if [ -x /usr/bin/etcd ]; then
    ln -sfn /usr/bin/etcd "$out/etcd"
    return 0
  fi
  # etcd's server module replaces its sibling modules with relative paths, so `go install mod@version`
  # refuses it: build it from a wrapper module, like kubernetes below.
  log "building etcd $ETCD_VERSION"
  local dir="$work/etcd"
  mkdir -p "$dir"
  (cd "$dir" &&
    go mod init ferry.local/etcd >&2 2>/dev/null &&
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 &&
    go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3 >&2)
  mv "$out/etcd.tmp" "$out/etcd"
}

if [ -f "$out/.complete" ]; then
  ensure_etcd
  echo "$out"
  exit 0
fi

log "building into $out (minutes on a cold cache)"
mkdir -p "$out"
start=$SECONDS

# kube-apiserver, kube-controller-manager and kube-scheduler. k8s.io/kubernetes requires its staging modules
# at v0.0.0 and replaces them with ./staging/src/k8s.io/x, which a dependent module ignores: a wrapper module
# requires kubernetes and replaces each of them by its published release (v1.31.4 -> v0.31.4). The replaces are
# read from kubernetes' own go.mod, so another version brings its own list.
staging_version="v0.${K8S_VERSION#v1.}"
k8s_mod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[ -f "$k8s_mod" ] || { log "no go.mod for k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
wrapper="$work/kubernetes"
mkdir -p "$wrapper"
{
  echo "module ferry.local/kubernetes"
  echo
  # kubernetes' go and godebug lines: the binaries keep the runtime defaults kubernetes chose.
  grep -E '^(go|godebug) ' "$k8s_mod"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  grep -oE '^[[:space:]]*k8s\.io/[A-Za-z0-9._-]+ => \./staging/src/k8s\.io/[A-Za-z0-9._-]+' "$k8s_mod" |
    awk -v v="$staging_version" '{ print "replace " $1 " => " $1 " " v }'
} >"$wrapper/go.mod"
n="$(grep -c '^replace ' "$wrapper/go.mod")"
[ "$n" -gt 0 ] || { log "found no staging replaces in $k8s_mod"; exit 1; }
log "wrapper module with $n staging replaces ($staging_version)"

cmds=(kube-apiserver kube-controller-manager kube-scheduler)
pkgs=()
for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
# The version the binaries report (kubernetes' own build sets it the same way from git).
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for kv in "gitVersion=$K8S_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean; do
  ldflags+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
done
(cd "$wrapper" && go get "${pkgs[@]/%/@$K8S_VERSION}" >&2)
log "building ${cmds[*]}"
(cd "$wrapper" && go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}" >&2)
log "kubernetes built in $((SECONDS - start))s"

log "building kwok $KWOK_VERSION"
GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2

log "fetching Gateway API $GATEWAY_API_VERSION CRDs"
gw_dir="$(go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -d "$gw_dir/config/crd/standard" ] || { log "no config/crd/standard in $gw_dir"; exit 1; }
rm -rf "$out/gateway-api-crds"
mkdir -p "$out/gateway-api-crds"
cp "$gw_dir"/config/crd/standard/*.yaml "$out/gateway-api-crds/"
chmod u+w "$out"/gateway-api-crds/*.yaml

ensure_etcd
for b in "${cmds[@]}" kwok etcd; do
  [ -x "$out/$b" ] || { log "missing $out/$b"; exit 1; }
done
printf '%s\n' "$key" "built in $((SECONDS - start))s" >"$out/.complete"
log "done in $((SECONDS - start))s"
echo "$out"
