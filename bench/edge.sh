#!/usr/bin/env bash
# The data plane as ferry deploys it against nginx, in the same run: a release of bench/backend behind
# `ferry dataplane` (its figures, its sticky split, its host table) and the same backend behind nginx with
# upstream keepalive. Reports requests/s, p99 and requests per CPU-second of each proxy process (the figure
# that does not depend on what else runs on the machine).
#
# Needs nginx, wrk and h2load (Debian: nginx-light wrk nghttp2-client) and openssl.
# Usage: bench/edge.sh [SECONDS] [ROUNDS] [MODES]   MODES: any of http tls h2 (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/nginx-lib.sh
secs=${1:-10}
rounds=${2:-3}
modes=${3:-http tls h2}
conns=${CONNS:-32}
for tool in nginx wrk h2load openssl curl; do
  command -v $tool >/dev/null || { echo "needs $tool: apt-get install nginx-light wrk nghttp2-client openssl curl" >&2; exit 1; }
done
go build -o bin/ferry ./cmd/ferry
go build -o bin/backend ./bench/backend
work=$(mktemp -d)
dp_pid=
cleanup() {
  [ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test \
  -addext subjectAltName=DNS:bench.test -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# The data plane with one environment: the backend as a release, on plain HTTP and over TLS by host name.
# Certificate files are read from DATA/certs/PROJECT, as ferry serve's data plane reads them.
mkdir -p "$work/dp/certs/bench" "$work/rel"
cp "$work/cert.pem" "$work/key.pem" "$work/dp/certs/bench/"
bin/ferry dataplane --data "$work/dp" --isolation none > "$work/dp.log" 2>&1 &
dp_pid=$!
for _ in $(seq 50); do [ -S "$work/dp/dataplane.sock" ] && break; sleep 0.1; done
release='{"id":"1","dir":"'$work/rel'","run":"'$PWD'/bin/backend -listen 127.0.0.1:$PORT","instances":1,"health":{"path":"/"}}'
desired='{"environments":[
  {"name":"bench/http","listen":"127.0.0.1:19301","hosts":["bench.test"],"releases":['$release'],"route":{"stable":"1"}},
  {"name":"bench/tls","listen":"127.0.0.1:19303",
   "tls":{"cert":"cert.pem","key":"key.pem"},"releases":['$release'],"route":{"stable":"1"}}]}'
curl -sS --fail-with-body --unix-socket "$work/dp/dataplane.sock" -X PUT -d "$desired" http://dp/v1/desired > "$work/put" || { cat "$work/put" >&2; exit 1; }
for _ in $(seq 100); do curl -sf -o /dev/null -H 'Host: bench.test' http://127.0.0.1:19301/ && break; sleep 0.1; done
dp_proxy_pid=$dp_pid

# nginx proxies to the very instance the data plane started, so both measure the same backend process.
backend_port=$(curl -s --unix-socket "$work/dp/dataplane.sock" http://dp/v1/state | grep -io '"port":[0-9]*' | head -1 | cut -d: -f2)
start_nginx "${NGINX_WORKERS:-auto}" "$backend_port"

echo "# $(date -u +%F) on $(nproc) cores, $(uname -sr), $(nginx -v 2>&1 | cut -d/ -f2), $conns connections, ${secs}s x $rounds rounds, load $(cut -d' ' -f1 /proc/loadavg)"
steal() { awk '/^cpu / {print $9}' /proc/stat; }   # ticks the hypervisor gave to other guests
steal_before=$(steal); start_s=$(date +%s)
one() { # proxy mode
  case $1-$2 in
    nginx-http) run nginx http http://127.0.0.1:19200/ $(nginx_pids) ;;
    ferry-http) run ferry http http://127.0.0.1:19301/ $dp_proxy_pid ;;
    nginx-tls)  run nginx tls https://127.0.0.1:19202/ $(nginx_pids) ;;
    ferry-tls)  run ferry tls https://127.0.0.1:19303/ $dp_proxy_pid ;;
    nginx-h2)   run nginx h2 https://127.0.0.1:19202/ $(nginx_pids) ;;
    ferry-h2)   run ferry h2 https://127.0.0.1:19303/ $dp_proxy_pid ;;
  esac
}
for i in $(seq "$rounds"); do
  for m in $modes; do
    # Who goes first alternates from round to round, so that neither always runs at the same point of the
    # round (with nginx always first, ferry always followed the same run of nginx's).
    if [ $((i % 2)) = 1 ]; then one nginx $m; one ferry $m; else one ferry $m; one nginx $m; fi
  done
done | tee "$work/results"
# Each round's ferry/nginx ratio too (the two run back to back in each round): on a shared VM whole
# rounds move by 10-20 % together, and the spread of the paired ratios says how far the mean can be trusted.
awk '
  { k=$1" "$2; rps[k]+=$3; p99[k]+=$4; cpu[k]+=$5; n[k]++; m[$2]=1
    val[$1, $2, n[k]]=$3 }
  END {
    for (mode in m) {
      f="ferry " mode; g="nginx " mode
      printf "%-4s mean of %d: nginx %.0f req/s p99 %.2f ms %.0f req/cpu-s | ferry %.0f req/s p99 %.2f ms %.0f req/cpu-s | ferry/nginx %.2fx req/s, %.2fx p99, %.2fx req/cpu-s",
        mode, n[f], rps[g]/n[g], p99[g]/n[g], cpu[g]/n[g], rps[f]/n[f], p99[f]/n[f], cpu[f]/n[f],
        (rps[f]/n[f])/(rps[g]/n[g]), (p99[f]/n[f])/(p99[g]/n[g]), (cpu[f]/n[f])/(cpu[g]/n[g])
      c=0; for (i=1; i<=n[f]; i++) v[++c]=val["ferry", mode, i]/val["nginx", mode, i]
      for (i=1; i<=c; i++) for (j=i+1; j<=c; j++) if (v[j] < v[i]) { t=v[i]; v[i]=v[j]; v[j]=t }
      med = c % 2 ? v[(c+1)/2] : (v[c/2]+v[c/2+1])/2
      printf "; per round req/s median %.2fx, %.2f-%.2fx\n", med, v[1], v[c]
    }
  }' "$work/results"
echo "$(steal) $steal_before $(date +%s) $start_s $(nproc) $(getconf CLK_TCK)" |
  awk '{printf "steal: %.1f %% of the CPU time over the run (time this VM was runnable but the host ran others)\n", 100*($1-$2)/$6/(($3-$4)*$5)}'
