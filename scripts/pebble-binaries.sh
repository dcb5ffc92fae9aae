#!/usr/bin/env bash
# Builds, once, the ACME test server that ferry's certificate tests run against (internal/edge/acme/pebbletest):
# pebble (Let's Encrypt's test CA) and pebble-challtestsrv (its DNS answers) from the Go module proxy. They go
# to a cache folder keyed by pebble's version and `go version`; when it is complete nothing is rebuilt. The
# folder is the only line printed on stdout (progress goes to stderr), so:
#
#   export FERRY_PEBBLE_BIN="$(scripts/pebble-binaries.sh)"
#
# FERRY_PEBBLE_CACHE overrides the cache root (default ~/.cache/ferry-pebble). A cold build takes about a minute.
set -euo pipefail

PEBBLE_VERSION=v2.10.3 # the newest served on 2026-12-02

log() { echo "pebble-binaries: $*" >&2; }

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
go_version="$(go env GOVERSION)"
key="pebble-${PEBBLE_VERSION}_${go_version}"
root="${FERRY_PEBBLE_CACHE:-$HOME/.cache/ferry-pebble}"
case "$root" in /*) ;; *) root="$PWD/$root" ;; esac # the script works in a temporary folder
out="$root/$key"

if [ -f "$out/.complete" ] && [ -x "$out/pebble" ] && [ -x "$out/pebble-challtestsrv" ]; then
  echo "$out"
  exit 0
fi

# The module is fetched outside any project: the repository's go.mod must not see it.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

log "building pebble $PEBBLE_VERSION into $out"
mkdir -p "$out"
start=$SECONDS
for c in pebble pebble-challtestsrv; do
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/letsencrypt/pebble/v2/cmd/$c@$PEBBLE_VERSION" >&2
done
for b in pebble pebble-challtestsrv; do
  [ -x "$out/$b" ] || { log "missing $out/$b"; exit 1; }
done
printf '%s\n' "$key" "built in $((SECONDS - start))s" >"$out/.complete"
log "done in $((SECONDS - start))s"
echo "$out"
