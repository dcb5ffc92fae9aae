#!/usr/bin/env bash
# Runs ferry's benchmarks beside their peers and prints the figures recorded in bench/README.md.
# Needs hyperfine (Debian package) for the engine overhead; everything else is Go and git.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/ferry ./cmd/ferry
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%F) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | cut -d' ' -f3)"

# 1. Engine overhead: 50 sequential steps of `true` through `ferry exec`, against 50 `sh -c true` run directly.
mkdir -p "$work/p50"
{
  echo "version: 1"
  echo "stages:"
  for i in $(seq 50); do printf '  - name: s%d\n    steps:\n      - {name: t, run: "true"}\n' "$i"; done
} > "$work/p50/.ferry.yaml"
if command -v hyperfine >/dev/null; then
  # The same pipeline with each step in bubblewrap's sandbox, as ferry serve runs it: the cost of isolation.
  hyperfine -N --warmup 3 --runs 30 --export-json "$work/exec.json" \
    "bin/ferry exec --isolation none $work/p50" \
    "bin/ferry exec --isolation bwrap $work/p50" \
    "sh -c 'for i in \$(seq 50); do sh -c true; done'" \
    "bin/ferry exec --isolation bwrap --sandbox-per-step $work/p50"
  python3 - "$work/exec.json" <<'PY' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))["results"]
f, b, s, p = r[0]["mean"], r[1]["mean"], r[2]["mean"], r[3]["mean"]
print(f"engine overhead per step, unisolated: ({f*1000:.1f} ms - {s*1000:.1f} ms) / 50 = {(f-s)*1000/50:.2f} ms")
print(f"engine overhead per step, isolated:   ({b*1000:.1f} ms - {s*1000:.1f} ms) / 50 = {(b-s)*1000/50:.2f} ms")
print(f"cost of isolation per step:           ({b*1000:.1f} ms - {f*1000:.1f} ms) / 50 = {(b-f)*1000/50:.2f} ms")
print(f"  with a sandbox per step instead:     ({p*1000:.1f} ms - {f*1000:.1f} ms) / 50 = {(p-f)*1000/50:.2f} ms")
PY
else
  echo "hyperfine not installed (apt-get install hyperfine): skipping the exec overhead"
fi

# 2. Through the server: per-step timings as the store records them.
go run ./bench/ferrybench -ferry bin/ferry steps -n 50
# 3. Webhook to first step.
go run ./bench/ferrybench -ferry bin/ferry webhook -n 20
# 4. Server memory while a step prints 1 GiB (100-byte lines), then 256 MiB without a newline.
go run ./bench/ferrybench -ferry bin/ferry logmem -bytes 1073741824
go run ./bench/ferrybench -ferry bin/ferry logmem -bytes 268435456 -newlines=false
# 5. Feature flags: in-process evaluation, then OFREP over loopback on one core (needs wrk and taskset).
go test -run '^$' -bench . -benchmem ./internal/flags/ ./internal/ofrep/
if command -v wrk >/dev/null; then
  go run ./bench/ferrybench -ferry bin/ferry ofrep -d 8s
else
  echo "wrk not installed (apt-get install wrk): skipping OFREP throughput"
fi
