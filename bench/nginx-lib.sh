# Sourced by the proxy benchmarks (edge.sh, edge-ab.sh, proxy.sh): nginx as the peer, configured once, and
# one measured run of wrk or h2load. Uses the caller's $work, $secs and $conns (default 32).

# start_nginx WORKERS BACKEND_PORT: nginx on 127.0.0.1:19200 (plain HTTP) in front of the backend, and on
# 19202 with TLS and HTTP/2 when $work/cert.pem exists. Upstream keepalive, no access log, and the same
# forwarding headers ferry sends, so that the instance behind each does the same work.
start_nginx() {
  local tls=
  if [ -f "$work/cert.pem" ]; then
    tls="ssl_protocols TLSv1.2 TLSv1.3;
  ssl_certificate $work/cert.pem;
  ssl_certificate_key $work/key.pem;"
  fi
  cat > "$work/nginx.conf" <<NGINX
worker_processes $1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;   # nginx closes a connection after 1000 requests by default (HTTP/1.1 and HTTP/2)
  upstream backend { server 127.0.0.1:$2; keepalive 64; }
  $tls
  server {
    listen 127.0.0.1:19200;
    ${tls:+listen 127.0.0.1:19202 ssl http2;}
    server_name bench.test;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header Forwarded "for=\$remote_addr;host=\\"\$host\\";proto=\$scheme";
    }
  }
}
NGINX
  nginx -c "$work/nginx.conf" -p "$work" -g 'daemon on;'
  sleep 1
}

nginx_pids() { pgrep -f "nginx: worker process" | tr '\n' ' '; }

cpu() { # PIDs... → their CPU seconds (user+system) so far
  local t=0
  for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
  echo "$t $(getconf CLK_TCK)" | awk '{print $1/$2}'
}

# wrk_p99 FILE: wrk's 99th percentile in ms.
wrk_p99() {
  awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$1"
}

run() { # name mode url pids... → "name mode rps p99ms req/cpu-s" (mode: http, tls or h2)
  local name=$1 mode=$2 url=$3; shift 3
  local before after rps p99 total
  before=$(cpu "$@")
  if [ "$mode" = h2 ]; then
    h2load -c"${conns:-32}" -m1 -D"$secs" --log-file="$work/h2log" "$url" > "$work/out" 2>&1
    rps=$(awk '/^finished in/ {gsub(/,/,""); print $4}' "$work/out")
    # h2load prints no percentiles: its log file has each request's duration in microseconds.
    p99=$(awk '{print $3}' "$work/h2log" | sort -n | awk '{v[NR]=$1} END {print v[int(NR*0.99)]/1000}')
    total=$(awk '/^requests:/ {print $8}' "$work/out")
  else
    wrk -t1 -c"${conns:-32}" -d"${secs}s" --latency -H "Host: bench.test" "$url" > "$work/out"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/out")
    p99=$(wrk_p99 "$work/out")
    total=$(awk '/requests in/ {print $1}' "$work/out")
  fi
  after=$(cpu "$@")
  echo "$name $mode $rps $p99 $(echo "$total $before $after" | awk '{printf "%.0f", $1/($3-$2)}')"
}
