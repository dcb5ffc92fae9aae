#!/usr/bin/env bash
# A/B: two ferry data planes (binaries A_BIN and B_BIN, extra environment A_ENV and B_ENV, e.g. A_ENV=GOGC=100)
# and nginx with one worker in front of the same instance, interleaved in every round, so a change is measured
# against the commit before it on the same machine at the same time. Reports requests/s, p99 and requests per
# CPU-second of each, and B/A. Needs what bench/edge.sh needs.
# Usage: A_BIN=old/ferry B_BIN=bin/ferry bench/edge-ab.sh [SECONDS] [ROUNDS] [MODES]   MODES: http tls h2
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/nginx-lib.sh
secs=${1:-3}; rounds=${2:-6}; modes=${3:-http h2}
[ -n "${A_BIN:-}${B_BIN:-}" ] && A_BIN_SET=1
A_BIN=${A_BIN:-bin/ferry}; B_BIN=${B_BIN:-bin/ferry}
go build -o bin/backend ./bench/backend
[ -n "${A_BIN_SET:-}" ] || go build -o bin/ferry ./cmd/ferry
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; [ -f $work/nginx.pid ] && kill $(cat $work/nginx.pid) 2>/dev/null || true; sleep 0.5; rm -rf $work; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test -addext subjectAltName=DNS:bench.test -keyout $work/key.pem -out $work/cert.pem 2>/dev/null
mkdir -p $work/rel
start_dp() { # name bin env httpport tlsport
  local d=$work/$1; mkdir -p $d/certs/bench; cp $work/cert.pem $work/key.pem $d/certs/bench/
  env $3 $2 dataplane --data $d --isolation none > $work/$1.log 2>&1 & pids+=($!); eval "PID_$1=$!"
  for _ in $(seq 50); do [ -S $d/dataplane.sock ] && break; sleep 0.1; done
  local release='{"id":"1","dir":"'$work/rel'","run":"'$PWD'/bin/backend -listen 127.0.0.1:$PORT","instances":1,"health":{"path":"/"}}'
  local desired='{"environments":[{"name":"bench/http","listen":"127.0.0.1:'$4'","hosts":["bench.test"],"releases":['$release'],"route":{"stable":"1"}},{"name":"bench/tls","listen":"127.0.0.1:'$5'","tls":{"cert":"cert.pem","key":"key.pem"},"releases":['$release'],"route":{"stable":"1"}}]}'
  curl -sS --fail-with-body --unix-socket $d/dataplane.sock -X PUT -d "$desired" http://dp/v1/desired > /dev/null
  for _ in $(seq 100); do curl -sf -o /dev/null -H 'Host: bench.test' http://127.0.0.1:$4/ && break; sleep 0.1; done
}
start_dp A $A_BIN "X=1 ${A_ENV:-}" 19501 19503
start_dp B $B_BIN "X=1 ${B_ENV:-}" 19511 19513
backend_port=$(curl -s --unix-socket $work/A/dataplane.sock http://dp/v1/state | grep -io '"port":[0-9]*' | head -1 | cut -d: -f2)
start_nginx 1 "$backend_port"
NG=$(nginx_pids)
one() { # who mode
  case $1-$2 in
    nginx-http) run nginx http http://127.0.0.1:19200/ $NG ;;
    A-http) run A http http://127.0.0.1:19501/ $PID_A ;;
    B-http) run B http http://127.0.0.1:19511/ $PID_B ;;
    nginx-tls) run nginx tls https://127.0.0.1:19202/ $NG ;;
    A-tls) run A tls https://127.0.0.1:19503/ $PID_A ;;
    B-tls) run B tls https://127.0.0.1:19513/ $PID_B ;;
    nginx-h2) run nginx h2 https://127.0.0.1:19202/ $NG ;;
    A-h2) run A h2 https://127.0.0.1:19503/ $PID_A ;;
    B-h2) run B h2 https://127.0.0.1:19513/ $PID_B ;;
  esac; }
# A and B swap places every round, so that neither always runs at the same point of the round (right after
# nginx, which proxies to A's instance).
for i in $(seq $rounds); do for m in $modes; do
  if [ $((i % 2)) = 1 ]; then one nginx $m; one A $m; one B $m; else one nginx $m; one B $m; one A $m; fi
  done; done > $work/res
awk '{k=$1" "$2; r[k]+=$3; p[k]+=$4; c[k]+=$5; n[k]++; m[$2]=1} END {for (mode in m) {printf "%-4s", mode; for (w in n) {} ; split("nginx A B", who, " "); for (j=1;j<=3;j++) {k=who[j]" "mode; printf " | %s %.0f req/s p99 %.2f %.0f req/cpu-s", who[j], r[k]/n[k], p[k]/n[k], c[k]/n[k]}; ka="A "mode; kb="B "mode; printf " | B/A req/s %.3f req/cpu-s %.3f\n", r[kb]/r[ka], c[kb]/c[ka]}}' $work/res
