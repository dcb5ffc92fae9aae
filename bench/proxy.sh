#!/usr/bin/env bash
# ferry's proxy against nginx in front of the same backend, in the same run: requests/s and p99 with wrk.
# Needs nginx and wrk (Debian packages). Usage: bench/proxy.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/nginx-lib.sh
secs=${1:-10}
rounds=${2:-3}
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "needs nginx and wrk: apt-get install nginx-light wrk" >&2; exit 1; }
go build -o bin/backend ./bench/backend
go build -o bin/proxybench ./bench/proxy
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin/backend -listen 127.0.0.1:19100 & pids+=($!)
bin/proxybench -listen 127.0.0.1:19300 -upstream 127.0.0.1:19100 & pids+=($!)
start_nginx auto 19100

echo "# $(date -u +%F) on $(nproc) cores, $(uname -sr), $(nginx -v 2>&1 | cut -d/ -f2), wrk -t1 -c32 -d${secs}s, $rounds rounds"
wrk_run() { # name port → "rps p99ms"
  wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$2/" > "$work/out"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/out")
  p99=$(wrk_p99 "$work/out")
  echo "$1 $rps $p99"
}
for i in $(seq "$rounds"); do
  wrk_run backend 19100; wrk_run nginx 19200; wrk_run ferry 19300
done | tee "$work/results"
awk '
  { rps[$1]+=$2; p99[$1]+=$3; n[$1]++ }
  END {
    for (k in n) { rps[k]/=n[k]; p99[k]/=n[k] }
    printf "mean of %d rounds: backend %.0f req/s p99 %.2f ms | nginx %.0f req/s p99 %.2f ms | ferry %.0f req/s p99 %.2f ms\n", n["ferry"], rps["backend"], p99["backend"], rps["nginx"], p99["nginx"], rps["ferry"], p99["ferry"]
    printf "ferry/nginx: throughput %.2fx, p99 %.2fx; ferry/backend throughput %.2fx; nginx/backend %.2fx\n", rps["ferry"]/rps["nginx"], p99["ferry"]/p99["nginx"], rps["ferry"]/rps["backend"], rps["nginx"]/rps["backend"]
  }' "$work/results"
