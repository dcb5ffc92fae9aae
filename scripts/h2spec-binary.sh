#!/usr/bin/env bash
# Builds, once, h2spec, the HTTP/2 conformance suite ferry's own HTTP/2 server is tested against
# (internal/proxy TestH2Spec), from the Go module proxy into a cache folder keyed by its version and
# `go version`. The folder is the only line printed on stdout (progress goes to stderr), so:
#
#   export FERRY_H2SPEC_BIN="$(scripts/h2spec-binary.sh)"
#
# FERRY_H2SPEC_CACHE overrides the cache root (default ~/.cache/ferry-h2spec). A cold build takes seconds.
set -euo pipefail
. "$(dirname "$0")/go-tool-cache.sh"

H2SPEC_VERSION=v2.2.1+incompatible # the newest served on 2026-12-02

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
go_tool_cached h2spec-binary "${FERRY_H2SPEC_CACHE:-$HOME/.cache/ferry-h2spec}" \
  "h2spec-${H2SPEC_VERSION}_$(go env GOVERSION)" h2spec \
  "github.com/summerwind/h2spec/cmd/h2spec@$H2SPEC_VERSION"
