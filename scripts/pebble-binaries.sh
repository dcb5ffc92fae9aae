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
. "$(dirname "$0")/go-tool-cache.sh"

PEBBLE_VERSION=v2.10.3 # the newest served on 2026-12-02

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
go_tool_cached pebble-binaries "${FERRY_PEBBLE_CACHE:-$HOME/.cache/ferry-pebble}" \
  "pebble-${PEBBLE_VERSION}_$(go env GOVERSION)" "pebble pebble-challtestsrv" \
  "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION" \
  "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$PEBBLE_VERSION"
