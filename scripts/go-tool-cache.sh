# Sourced by the scripts that build a test tool from the Go module proxy once (pebble-binaries.sh,
# h2spec-binary.sh). go_tool_cached NAME ROOT KEY BINARIES PACKAGE@VERSION... installs the packages into
# ROOT/KEY unless that folder is complete already (every binary in BINARIES present and .complete written),
# and prints the folder as the only line on stdout; progress goes to stderr.
go_tool_cached() {
  local name=$1 root=$2 key=$3 bins=$4
  shift 4
  command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
  case "$root" in /*) ;; *) root="$PWD/$root" ;; esac # the install works in a temporary folder
  local out="$root/$key" b complete=1
  for b in $bins; do [ -x "$out/$b" ] || complete=0; done
  if [ -f "$out/.complete" ] && [ "$complete" = 1 ]; then
    echo "$out"
    return 0
  fi
  # The modules are fetched outside any project: the repository's go.mod must not see them.
  local work start=$SECONDS
  work="$(mktemp -d)"
  echo "$name: building $* into $out" >&2
  mkdir -p "$out"
  (
    cd "$work"
    export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
    for p in "$@"; do GOBIN="$out" go install -trimpath -ldflags "-s -w" "$p" >&2 || exit 1; done
  ) || { rm -rf "$work"; return 1; }
  rm -rf "$work"
  for b in $bins; do [ -x "$out/$b" ] || { echo "$name: missing $out/$b" >&2; return 1; }; done
  printf '%s\n' "$key" "built in $((SECONDS - start))s" >"$out/.complete"
  echo "$name: done in $((SECONDS - start))s" >&2
  echo "$out"
}
