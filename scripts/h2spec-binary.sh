#!/usr/bin/env bash
# Builds, once, h2spec, the HTTP/2 conformance suite ferry's own HTTP/2 server is tested against
# (internal/proxy TestH2Spec), from the Go module proxy into a cache folder keyed by its version and
# `go version`. The folder is the only line printed on stdout (progress goes to stderr), so:
#
#   export FERRY_H2SPEC_BIN="$(scripts/h2spec-binary.sh)"
#
# FERRY_H2SPEC_CACHE overrides the cache root (default ~/.cache/ferry-h2spec). A cold build takes seconds.
set -euo pipefail

H2SPEC_VERSION=v2.2.1+incompatible # the newest served on 2026-12-02

log() { echo "h2spec-binary: $*" >&2; }

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
key="h2spec-${H2SPEC_VERSION}_$(go env GOVERSION)"
root="${FERRY_H2SPEC_CACHE:-$HOME/.cache/ferry-h2spec}"
case "$root" in /*) ;; *) root="$PWD/$root" ;; esac # the script works in a temporary folder
out="$root/$key"

if [ -f "$out/.complete" ] && [ -x "$out/h2spec" ]; then
  echo "$out"
  exit 0
fi

# The module is fetched outside any project: the repository's go.mod must not see it.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

log "building h2spec $H2SPEC_VERSION into $out"
mkdir -p "$out"
GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/summerwind/h2spec/cmd/h2spec@$H2SPEC_VERSION" >&2
[ -x "$out/h2spec" ] || { log "missing $out/h2spec"; exit 1; }
echo "$key" >"$out/.complete"
echo "$out"
