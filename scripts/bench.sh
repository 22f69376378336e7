#!/usr/bin/env bash
# mimamori against blackbox_exporter, side by side, on this machine. A benchmark,
# not a test: it prints numbers and never fails on them. See BENCHMARKS.md.
#
#   scripts/bench.sh [compare|rss|scale|scale-https|accuracy|rules|addresses|series|notify|browser|all]     (default: all)
#
# compare   one nginx on loopback; blackbox_exporter driven by a real Prometheus
#           scraping /probe for 200 targets every second, and mimamori running 200
#           one-GET transactions every second, in alternating 30 s windows (one
#           side probing at a time): probes counted by nginx's stub_status, CPU
#           per probe (user+sys from /proc/PID/stat) and RSS, HTTP then HTTPS.
# rss       `mimamori serve` alone with compare's 200 transactions: VmRSS, RssAnon,
#           RssFile and each mapping's resident size (what holds the memory).
# scale     100, 1,000 and 10,000 transactions every 15 s on one core
#           (taskset -c 0, MIMAMORI_WORKER_THREADS=1): CPU, RSS, scheduling lag,
#           skipped runs, /metrics size and time.
# scale-https  the same with HTTPS (full handshake every run; nginx keeps no
#           session cache), 1,000 and 5,000 transactions by default.
# accuracy  500 runs/s against a server that answers after a known delay.
# rules     one service's generated rules evaluated by Prometheus over 30 backfilled
#           days (scripts/bench_rules.py): time per rule group, Prometheus CPU.
# addresses `resolve: all` against two addresses (nginx on 127.0.0.1 and
#           127.0.0.2, the name `localhost` mapped to both by global.hosts_file)
#           next to `resolve: first` (one address), 200 transactions every
#           second each, side by side: CPU per transaction run, HTTP then HTTPS.
# series    what the exposition costs the Prometheus that scrapes it: 10,000 one-GET
#           transactions (10 services x 1,000) every 15 s; the series and bytes of one
#           /metrics, then a real Prometheus (throwaway storage) scraping it every 15 s
#           for SERIES_SECONDS (default 600): its RSS, heap in use and head series at
#           the end. Not part of `all`. SERIES_TRANSACTIONS sets the size.
# notify    one event delivered to NOTIFY_BENCH_CONTACTS (default 1,000) contacts through
#           aiosmtpd on loopback (benches/notify_delivery.rs): wall time, rate, CPU of
#           both sides, at concurrency 1 and 8. Needs python3 with aiosmtpd. Not part of `all`.
# browser   BROWSER_TRANSACTIONS (default 8) browser transactions of the demo UI (log in ->
#           list -> open the first item, served by `mimamori demo --no-browser`) every
#           BROWSER_INTERVAL (default 15s) in one `mimamori serve`, for BENCH_SECONDS after a
#           warm-up: CPU of mimamori and of all its Chromium processes (/proc, including
#           those that ended inside the window; scripts/bench_proc_tree.py), RSS and PSS of
#           the browser process tree, runs and step times from /metrics; CPU per run and the
#           browser transactions one core carries at a 1-minute interval. Needs chromium.
#           BROWSER_CONCURRENT sets global.browser.max_concurrent (default: the engine's).
#           Not part of `all`.
#
# Environment: BENCH_SECONDS (measuring window, default 60; 30 for compare), BENCH_DIR (work
# directory, default /tmp/mimamori-bench), BENCH_PROFILE (cargo profile, default
# release; `profiling` keeps debug info for perf and callgrind; `dev` is the debug
# build in target/debug), BENCH_BIN (measure this mimamori binary, e.g. an older
# build, without building anything; examples come from target/$PROFILE). Everything
# listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
W=${BENCH_DIR:-/tmp/mimamori-bench}
SECS=${BENCH_SECONDS:-60}
NGINX_HTTP=18080 NGINX_HTTPS=18443 NGINX_STATUS=18081 DELAY_PORT=18090
BB_PORT=19115 PROM_PORT=19090 MM_PORT=19732 MM1_PORT=19733
PROFILE=${BENCH_PROFILE:-release}
PROFILE_DIR=$PROFILE
[ "$PROFILE" != dev ] || PROFILE_DIR=debug
MM=${BENCH_BIN:-$ROOT/target/$PROFILE_DIR/mimamori}
HZ=$(getconf CLK_TCK)
mkdir -p "$W"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

install() {
  local need=()
  command -v nginx >/dev/null || need+=(nginx-light)
  command -v prometheus-blackbox-exporter >/dev/null || need+=(prometheus-blackbox-exporter)
  command -v prometheus >/dev/null || need+=(prometheus)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # The packages start daemons on their default ports; this script runs its own.
    $sudo systemctl stop nginx prometheus prometheus-blackbox-exporter 2>/dev/null || true
  fi
  if [ -n "${BENCH_BIN:-}" ]; then log "measuring $MM (not built)"; return; fi
  log "building ($PROFILE)"
  cargo build --profile "$PROFILE" --quiet --bin mimamori --example delay_server --example connect_floor
}

# user+sys CPU ticks of a process
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
requests() { grep -c " $1" "$W/access.log" || true; }
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; log "port $1 did not open"; return 1; }

start_nginx() {
  if [ ! -f "$W/cert.pem" ]; then
    # A CA and a server certificate it signs (a self-signed CA certificate
    # cannot serve as the server's: webpki refuses a CA as end entity).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -keyout "$W/ca-key.pem" -out "$W/ca.pem" -subj "/CN=mimamori bench CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$W/key.pem" -out "$W/cert.csr" -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$W/cert.ext"
    openssl x509 -req -in "$W/cert.csr" -CA "$W/ca.pem" -CAkey "$W/ca-key.pem" -CAcreateserial \
      -days 30 -extfile "$W/cert.ext" -out "$W/cert.pem" 2>/dev/null
  fi
  mkdir -p "$W/nginx-tmp"
  : > "$W/access.log"
  cat > "$W/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log $W/access.log;
  client_body_temp_path $W/nginx-tmp;
  server {
    listen 127.0.0.1:$NGINX_HTTP;
    listen 127.0.0.1:$NGINX_HTTPS ssl;
    listen 127.0.0.2:$NGINX_HTTP;
    listen 127.0.0.2:$NGINX_HTTPS ssl;
    ssl_certificate $W/cert.pem;
    ssl_certificate_key $W/key.pem;
    # A full handshake for every probe of both exporters: no resumption.
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
  # The request counter that compare reads (each read counts itself).
  server {
    listen 127.0.0.1:$NGINX_STATUS;
    location = /stub_status { stub_status; access_log off; }
  }
}
EOF
  nginx -c "$W/nginx.conf" -p "$W" >"$W/nginx.out" 2>&1 &
  PIDS+=($!)
  wait_port $NGINX_HTTP
}

# gen_config N INTERVAL URL_PREFIX [CA_FILE]: N one-GET transactions, 100 per service
# (TX_PER_SERVICE sets how many).
# TX_OPTIONS (e.g. "resolve: all") is added to every transaction, HOSTS_FILE to global.
gen_config() {
  local n=$1 interval=$2 base=$3 ca=${4:-} i=0 s j
  printf 'global:\n  location: bench\n  interval: %s\n  timeout: %s\n  step_timeout: %s\n' "$interval" "$interval" "$interval"
  [ -z "$ca" ] || printf '  ca_file: %s\n' "$ca"
  [ -z "${HOSTS_FILE:-}" ] || printf '  hosts_file: %s\n' "$HOSTS_FILE"
  echo "services:"
  for ((s = 0; i < n; s++)); do
    printf '  - name: svc%d\n    display_name: {ja: svc%d, en: svc%d}\n' $s $s $s
    printf '    objectives: {availability: 99.9, latency: {threshold: 1s, target: 99}}\n    transactions:\n'
    for ((j = 0; j < ${TX_PER_SERVICE:-100} && i < n; j++, i++)); do
      printf '      - name: tx%d\n' $j
      [ -z "${TX_OPTIONS:-}" ] || printf '        %s\n' "$TX_OPTIONS"
      printf '        steps:\n          - name: get\n            url: %s/%d/%d\n' "$base" $s $j
    done
  done
}

# start_mimamori NAME PORT CONFIG [extra env...]: pid in $MM_PID
start_mimamori() {
  local name=$1 port=$2 config=$3; shift 3
  env "$@" "$MM" serve --config "$config" --web.listen-address "127.0.0.1:$port" >"$W/$name.log" 2>&1 &
  MM_PID=$!
  PIDS+=($MM_PID)
  wait_port "$port"
}

start_blackbox() {
  cat > "$W/blackbox.yml" <<EOF
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http: {preferred_ip_protocol: ip4}
  https_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      tls_config: {ca_file: $W/ca.pem}
EOF
  prometheus-blackbox-exporter --config.file="$W/blackbox.yml" \
    --web.listen-address=127.0.0.1:$BB_PORT >"$W/blackbox.log" 2>&1 &
  BB_PID=$!
  PIDS+=($BB_PID)
  wait_port $BB_PORT
}

# start_prometheus SCHEME MODULE PORT: 200 blackbox targets scraped every second
start_prometheus() {
  {
    printf 'global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n'
    printf '  - job_name: blackbox\n    metrics_path: /probe\n    params: {module: [%s]}\n' "$2"
    printf '    static_configs:\n      - targets:\n'
    for i in $(seq 0 199); do printf '        - %s://127.0.0.1:%s/bb/%d\n' "$1" "$3" "$i"; done
    printf '    relabel_configs:\n'
    printf '      - {source_labels: [__address__], target_label: __param_target}\n'
    printf '      - {source_labels: [__param_target], target_label: instance}\n'
    printf '      - {target_label: __address__, replacement: "127.0.0.1:%s"}\n' $BB_PORT
  } > "$W/prometheus.yml"
  rm -rf "$W/prometheus-data"
  prometheus --config.file="$W/prometheus.yml" --web.listen-address=127.0.0.1:$PROM_PORT \
    --storage.tsdb.path="$W/prometheus-data" >"$W/prometheus.log" 2>&1 &
  PROM_PID=$!
  PIDS+=($PROM_PID)
  wait_port $PROM_PORT
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

load() { awk '{print $1", "$2", "$3}' /proc/loadavg; }

# nginx's request counter (stub_status); each read counts itself.
stub_requests() { curl -s "http://127.0.0.1:$NGINX_STATUS/stub_status" | awk 'NR == 3 {print $3}'; }

# RSS breakdown of a process: "VmRSS RssAnon RssFile" in kB
rss_parts() { awk '/^VmRSS|^RssAnon|^RssFile/ {printf "%s ", $2}' "/proc/$1/status"; }

# window SIDE PID PREFIX: one measuring window of one side while the others
# are idle. Probes are nginx's stub_status count over the window (only this
# side sends requests during it); the side's own path prefix in the access log
# cross-checks it. CPU is user + sys of PID (/proc/PID/stat). Appends a line
# to $W/compare-windows.txt.
window() {
  local side=$1 pid=$2 prefix=$3 c0 c1 s0 s1 a0 a1 load0 r rmax=0 parts="0 0 0" t=0 d
  sleep "$WARMUP"
  load0=$(load)
  c0=$(ticks "$pid"); s0=$(stub_requests); a0=$(requests "$prefix")
  while [ $t -lt "$SECS" ]; do
    d=$((SECS - t < 5 ? SECS - t : 5))
    sleep $d; t=$((t + d))
    r=$(rss_kb "$pid"); if [ "$r" -gt $rmax ]; then rmax=$r; parts=$(rss_parts "$pid"); fi
  done
  c1=$(ticks "$pid"); s1=$(($(stub_requests) - 1)); a1=$(requests "$prefix")
  printf '%s %s %d %d %d %s |%s → %s\n' "$SCHEME" "$side" $((c1 - c0)) $((s1 - s0)) $((a1 - a0)) \
    "$parts" "$load0" "$(load)" >> "$W/compare-windows.txt"
  log "$SCHEME $side: $((s1 - s0)) probes (stub_status; access log $((a1 - a0))), $((c1 - c0)) ticks, load $load0 → $(load)"
}

# compare_scheme http|https: COMPARE_ROUNDS rounds of alternating windows, one
# per side of $SIDES, each side alone against the one nginx.
compare_scheme() {
  SCHEME=$1
  local port=$NGINX_HTTP module=http_2xx ca="" side fpid
  if [ "$SCHEME" = https ]; then port=$NGINX_HTTPS module=https_2xx ca=$W/ca.pem; fi
  gen_config 200 1s "$SCHEME://127.0.0.1:$port/mm" $ca > "$W/$SCHEME-a.yaml"
  gen_config 200 1s "$SCHEME://127.0.0.1:$port/m1" $ca > "$W/$SCHEME-b.yaml"
  start_prometheus "$SCHEME" $module $port
  kill -STOP "$PROM_PID"
  for _ in $(seq "${COMPARE_ROUNDS:-1}"); do
    for side in $SIDES; do
      case $side in
        blackbox)
          # Prometheus scrapes /probe for its 200 targets only during this window.
          kill -CONT "$PROM_PID"
          window blackbox "$BB_PID" /bb/
          kill -STOP "$PROM_PID" ;;
        mimamori)
          start_mimamori "mm-$SCHEME" $MM_PORT "$W/$SCHEME-a.yaml"
          window mimamori "$MM_PID" /mm/
          stop "$MM_PID" ;;
        mimamori2)
          start_mimamori "m1-$SCHEME" $MM1_PORT "$W/$SCHEME-b.yaml" MIMAMORI_WORKER_THREADS=2
          window mimamori2 "$MM_PID" /m1/
          stop "$MM_PID" ;;
        floor)
          [ "$SCHEME" = http ] || continue
          "$ROOT/target/$PROFILE_DIR/examples/connect_floor" 127.0.0.1:$NGINX_HTTP /fl/ 200 &
          fpid=$!; PIDS+=($fpid)
          window floor "$fpid" /fl/
          stop "$fpid" ;;
        *) log "unknown side $side"; return 64 ;;
      esac
    done
  done
  kill -CONT "$PROM_PID"; stop "$PROM_PID"
}

# The windows of one scheme, summed per side, and the ratios to blackbox_exporter.
compare_report() {
  awk -v scheme="$1" -v hz="$HZ" -v secs="$SECS" -F'|' '
    { split($1, f, " "); if (f[1] != scheme) next
      side = f[2]; t[side] += f[3]; n[side] += f[4]; w[side]++
      if (f[6] > rss[side]) { rss[side] = f[6]; anon[side] = f[7]; file[side] = f[8] }
      win = win sprintf("    %-10s %7d probes (access log %7d) %6.0f ms CPU %8.4f ms/probe  RSS %5.1f MB  load %s\n", side, f[4], f[5], f[3] / hz * 1000, f[4] > 0 ? f[3] / hz * 1000 / f[4] : 0, f[6] / 1024, $2)
      if (!(side in w1)) { w1[side] = 1; order[++k] = side } }
    END {
      printf "\n%s, 200 probes/s each, alternating %d s windows, probes counted by nginx stub_status\n", toupper(scheme), secs
      printf "%s", win
      printf "  %-10s %8s %9s %9s %10s %8s %14s\n", "", "windows", "probes", "CPU ms", "ms/probe", "RSS MB", "RssAnon/File"
      for (i = 1; i <= k; i++) { s = order[i]
        per[s] = n[s] > 0 ? t[s] / hz * 1000 / n[s] : 0
        printf "  %-10s %8d %9d %9.0f %10.4f %8.1f %8.1f/%.1f\n", s, w[s], n[s], t[s] / hz * 1000, per[s], rss[s] / 1024, anon[s] / 1024, file[s] / 1024 }
      if (per["blackbox"] > 0) for (i = 1; i <= k; i++) { s = order[i]
        if (s != "blackbox" && per[s] > 0) printf "  CPU per probe, %s / blackbox: %.3f (1/%.1f)\n", s, per[s] / per["blackbox"], per["blackbox"] / per[s] }
    }' "$W/compare-windows.txt"
}

# rss: `mimamori serve` alone with compare's 200 one-GET transactions every
# second against nginx, no scrape; after RSS_WAIT seconds (default 25) its
# VmRSS/RssAnon/RssFile and the resident size of each mapping over 100 kB
# (/proc/PID/smaps): what holds the process' memory.
rss() {
  start_nginx
  gen_config 200 1s "http://127.0.0.1:$NGINX_HTTP/rs" > "$W/rss.yaml"
  start_mimamori rss $MM_PORT "$W/rss.yaml"
  sleep "${RSS_WAIT:-25}"
  printf '%s: ' "$MM"
  awk '/^VmRSS|^RssAnon|^RssFile|^Threads/ {printf "%s %s %s  ", $1, $2, $3} END {print ""}' "/proc/$MM_PID/status"
  awk '/^[0-9a-f]+-[0-9a-f]+ / {name = $6; perm = $2} /^Rss:/ && $2 > 100 {printf "%8d kB  %s %s\n", $2, perm, name}' \
    "/proc/$MM_PID/smaps" | sort -rn
  stop "$MM_PID"
}

# compare: blackbox_exporter driven by a real Prometheus (200 /probe targets
# scraped every second) and mimamori (200 one-GET transactions every second)
# against one nginx in alternating windows: probes counted by nginx's
# stub_status, CPU from /proc/PID/stat. COMPARE_SIDES (default "blackbox
# mimamori mimamori2 floor"), COMPARE_SCHEMES (default "http https"),
# COMPARE_ROUNDS (default 1: one window per side) and COMPARE_WARMUP (seconds
# before each window, default 5) choose what runs; BENCH_SECONDS is the
# window (default 30 here).
compare() {
  local SECS=${BENCH_SECONDS:-30} WARMUP=${COMPARE_WARMUP:-5}
  local SIDES=${COMPARE_SIDES:-blackbox mimamori mimamori2 floor}
  start_nginx
  start_blackbox
  : > "$W/compare-windows.txt"
  local scheme
  for scheme in ${COMPARE_SCHEMES:-http https}; do
    compare_scheme "$scheme"
    compare_report "$scheme"
  done
  stop $BB_PID
}

# lag_summary BEFORE AFTER: p50/p99 of mimamori_scheduler_lag_seconds between two scrapes
lag_summary() {
  awk 'FNR == NR && /^mimamori_scheduler_lag_seconds_bucket/ { match($0, /le="[^"]*"/); a[substr($0, RSTART + 4, RLENGTH - 5)] = $NF; next }
       /^mimamori_scheduler_lag_seconds_bucket/ { match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5); n++; les[n] = le; c[n] = $NF - a[le] }
       END {
         total = c[n]; out = ""
         split("0.5 0.99", qs, " ")
         for (k = 1; k <= 2; k++) {
           q = qs[k] * total; prev = 0; lo = 0; v = "?"
           for (i = 1; i <= n; i++) {
             if (c[i] >= q) {
               if (les[i] == "+Inf") { v = "> " lo } else { v = sprintf("%.4f", lo + (les[i] - lo) * (c[i] > prev ? (q - prev) / (c[i] - prev) : 1)) }
               break
             }
             prev = c[i]; lo = les[i]
           }
           out = out sprintf("p%s %s s  ", qs[k] * 100, v)
         }
         printf "%s(runs %d)", out, total
       }' "$1" "$2"
}

skipped_total() { awk '/^mimamori_runs_skipped_total/ { s += $NF } END { print s + 0 }' "$1"; }

# scale [http|https]
scale() {
  local scheme=${1:-http} sizes=${SCALE_SIZES:-100 1000 10000} port=$NGINX_HTTP ca=""
  if [ "$scheme" = https ]; then sizes=${SCALE_SIZES:-1000 5000}; port=$NGINX_HTTPS; ca=$W/ca.pem; fi
  [ -f "$W/nginx.pid" ] && kill -0 "$(cat "$W/nginx.pid")" 2>/dev/null || start_nginx
  printf '\nscale: one-GET %s transactions every 15 s, taskset -c 0, MIMAMORI_WORKER_THREADS=1 (load average %s)\n' "${scheme^^}" "$(load)"
  printf '  %7s %7s %10s %10s %9s %9s %10s %11s %11s  %s\n' transactions runs/s "CPU %core" "ms/run" "RSS MB" "peak MB" "/metrics MB" "1st byte ms" "scrape ms" "scheduling lag"
  for n in $sizes; do
    gen_config "$n" 15s "$scheme://127.0.0.1:$port/sc" $ca > "$W/scale-$n.yaml"
    env MIMAMORI_WORKER_THREADS=1 taskset -c 0 "$MM" serve --config "$W/scale-$n.yaml" \
      --web.listen-address "127.0.0.1:$MM_PORT" >"$W/scale-$n.log" 2>&1 &
    local pid=$!; PIDS+=($pid)
    wait_port $MM_PORT
    sleep 20 # every transaction has run once
    curl -s -o "$W/scale-before.txt" "http://127.0.0.1:$MM_PORT/metrics"
    local t0 c0 r0 c1 rss ttfb=() total=() k
    c0=$(ticks $pid); r0=$(requests /sc/); t0=$(date +%s.%N)
    # Scraped every 15 s, as Prometheus would; each scrape's time is recorded.
    for k in $(seq $((SECS / 15))); do
      sleep 15
      read -r a b < <(curl -s -o /dev/null -w '%{time_starttransfer} %{time_total}\n' "http://127.0.0.1:$MM_PORT/metrics")
      ttfb+=("$a"); total+=("$b")
    done
    curl -s -o "$W/scale-after.txt" "http://127.0.0.1:$MM_PORT/metrics"
    c1=$(ticks $pid); rss=$(rss_kb $pid)
    local runs=$(( $(requests /sc/) - r0 )) el
    el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    local lag skipped size
    lag=$(lag_summary "$W/scale-before.txt" "$W/scale-after.txt")
    skipped=$(skipped_total "$W/scale-after.txt")
    size=$(stat -c %s "$W/scale-after.txt")
    awk -v n="$n" -v runs="$runs" -v el="$el" -v ticks=$((c1 - c0)) -v hz="$HZ" -v rss="$rss" -v hwm="$(hwm_kb $pid)" \
      -v size="$size" -v ttfb="${ttfb[*]}" -v total="${total[*]}" -v lag="$lag" -v skipped="$skipped" 'BEGIN {
        nt = split(ttfb, t, " "); split(total, u, " "); mt = 0; mu = 0
        for (i = 1; i <= nt; i++) { if (t[i] > mt) mt = t[i]; if (u[i] > mu) mu = u[i] }
        printf "  %7d %7.0f %10.1f %10.4f %9.1f %9.1f %10.1f %11.0f %11.0f  %s, skipped %d\n", n, runs / el, ticks / hz / el * 100, ticks / hz * 1000 / runs, rss / 1024, hwm / 1024, size / 1e6, mt * 1000, mu * 1000, lag, skipped
      }'
    stop $pid
    printf '  (load average at the end: %s)\n' "$(load)"
  done
  echo "  (1st byte ms: slowest time to the first byte of /metrics; scrape ms: slowest complete transfer)"
}

accuracy() {
  local delay_ms=${ACCURACY_DELAY_MS:-50}
  "$ROOT/target/$PROFILE_DIR/examples/delay_server" 127.0.0.1:$DELAY_PORT "${delay_ms}ms" >"$W/delay.log" 2>&1 &
  local dpid=$!; PIDS+=($dpid)
  sleep 0.5
  gen_config 500 1s "http://127.0.0.1:$DELAY_PORT/d" > "$W/accuracy.yaml"
  start_mimamori accuracy $MM_PORT "$W/accuracy.yaml"
  local pid=$MM_PID
  sleep 5
  curl -s "http://127.0.0.1:$DELAY_PORT/stats?reset" >/dev/null
  local c0 r0; c0=$(ticks $pid)
  : > "$W/accuracy-samples.txt"
  local load0; load0=$(load)
  for _ in $(seq "$SECS"); do
    sleep 1
    # The latest run of each of the 500 transactions: processing phase and the
    # step's phases summed (connect + processing + transfer ≈ response time).
    curl -s "http://127.0.0.1:$MM_PORT/metrics" | awk '/^mimamori_step_phase_seconds\{/ {
        match($0, /transaction="[^"]*"/); t = substr($0, RSTART, RLENGTH); match($0, /service="[^"]*"/); t = t substr($0, RSTART, RLENGTH)
        if ($0 ~ /phase="processing"/) p[t] = $NF; s[t] += $NF }
        END { for (t in p) print p[t], s[t] }' >> "$W/accuracy-samples.txt"
  done
  local stats c1; stats=$(curl -s "http://127.0.0.1:$DELAY_PORT/stats"); c1=$(ticks $pid)
  local runs; runs=$(awk -F'[:,]' '{print $2}' <<<"$stats")
  printf '\naccuracy: 500 transactions every 1 s against a server that waits %s ms (load average %s → %s)\n' "$delay_ms" "$load0" "$(load)"
  printf '  server: %s (delay applied, request read → answer written)\n' "$stats"
  local sp50 sp99
  sp50=$(sed -E 's/.*"p50_us":([0-9]+).*/\1/' <<<"$stats"); sp99=$(sed -E 's/.*"p99_us":([0-9]+).*/\1/' <<<"$stats")
  for col in 1 2; do
    sort -g -k$col,$col "$W/accuracy-samples.txt" | awk -v col=$col -v d="$delay_ms" -v s50="$sp50" -v s99="$sp99" '{ p[NR] = $col * 1000 } END {
      m = p[int(NR * 0.5)]; q = p[int(NR * 0.99)]
      printf "  %-34s median %.3f ms, p99 %.3f ms (%d samples)\n", (col == 1 ? "processing phase:" : "whole step (sum of phases):"), m, q, NR
      printf "  %-34s median %+.3f ms, p99 %+.3f ms\n", "  minus the nominal delay:", m - d, q - d
      printf "  %-34s median %+.3f ms, p99 %+.3f ms\n", "  minus the delay the server applied:", m - s50 / 1000, q - s99 / 1000
    }'
  done
  awk -v t=$((c1 - c0)) -v hz="$HZ" -v runs="$runs" 'BEGIN { printf "  exporter CPU: %.4f ms per run\n", t / hz * 1000 / runs }'
  stop $pid; stop $dpid
}

# addresses: CPU per run of `resolve: all` with two addresses next to one address.
addresses() {
  [ -f "$W/nginx.pid" ] && kill -0 "$(cat "$W/nginx.pid")" 2>/dev/null || start_nginx
  printf '127.0.0.1 localhost\n127.0.0.2 localhost\n' > "$W/hosts-two"
  printf '127.0.0.1 localhost\n' > "$W/hosts-one"
  printf '\naddresses: 200 one-GET transactions every second per exporter, both at once, one probe thread each\n'
  printf '  %-40s %9s %9s %10s %12s\n' "" runs requests "CPU ms" "ms/run"
  local scheme port ca
  for scheme in http https; do
    port=$NGINX_HTTP ca=""
    if [ "$scheme" = https ]; then port=$NGINX_HTTPS ca=$W/ca.pem; fi
    HOSTS_FILE=$W/hosts-one gen_config 200 1s "$scheme://localhost:$port/a1" $ca > "$W/addr-one.yaml"
    HOSTS_FILE=$W/hosts-two TX_OPTIONS="resolve: all" gen_config 200 1s "$scheme://localhost:$port/a2" $ca > "$W/addr-two.yaml"
    start_mimamori addr-one $MM_PORT "$W/addr-one.yaml" MIMAMORI_WORKER_THREADS=1; local one=$MM_PID
    start_mimamori addr-two $MM1_PORT "$W/addr-two.yaml" MIMAMORI_WORKER_THREADS=1; local two=$MM_PID
    sleep 10
    local load0 c10 c20 r10 r20 c11 c21 r11 r21
    load0=$(load)
    c10=$(ticks $one); c20=$(ticks $two); r10=$(requests /a1/); r20=$(requests /a2/)
    sleep "$SECS"
    c11=$(ticks $one); c21=$(ticks $two); r11=$(requests /a1/); r21=$(requests /a2/)
    awk -v s="${scheme^^}" -v hz="$HZ" -v load="$load0 → $(load)" -v t1=$((c11 - c10)) -v n1=$((r11 - r10)) \
      -v t2=$((c21 - c20)) -v n2=$((r21 - r20)) 'BEGIN {
        one = t1 / hz * 1000 / n1; runs2 = n2 / 2; two = t2 / hz * 1000 / runs2
        printf "  %s (load average %s)\n", s, load
        printf "  %-40s %9d %9d %10.0f %12.4f\n", "resolve: first, one address", n1, n1, t1 / hz * 1000, one
        printf "  %-40s %9d %9d %10.0f %12.4f\n", "resolve: all, two addresses", runs2, n2, t2 / hz * 1000, two
        printf "  ratio per run: %.2f×\n", two / one
      }'
    stop $one; stop $two
  done
}

# series: series and bytes of one /metrics of 10,000 one-step transactions, and the
# memory of a real Prometheus scraping it every 15 s for SERIES_SECONDS.
series() {
  local n=${SERIES_TRANSACTIONS:-10000} secs=${SERIES_SECONDS:-600} pid ppid
  [ -f "$W/nginx.pid" ] && kill -0 "$(cat "$W/nginx.pid")" 2>/dev/null || start_nginx
  TX_PER_SERVICE=$((n / 10)) gen_config "$n" 15s "http://127.0.0.1:$NGINX_HTTP/se" > "$W/series.yaml"
  "$MM" serve --config "$W/series.yaml" --web.listen-address "127.0.0.1:$MM_PORT" >"$W/series-mm.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_port $MM_PORT
  sleep 20 # every transaction has run once
  curl -s -o "$W/series-metrics.txt" "http://127.0.0.1:$MM_PORT/metrics"
  local lines size per fixed
  lines=$(grep -vc -e '^#' -e '^$' "$W/series-metrics.txt")
  size=$(stat -c %s "$W/series-metrics.txt")
  # Series that do not belong to a transaction (build info, scheduler lag, maintenance, ...).
  fixed=$(grep -v -e '^#' -e '^$' "$W/series-metrics.txt" | grep -vc 'transaction="' || true)
  printf 'global: {scrape_interval: 15s, scrape_timeout: 14s}\nscrape_configs:\n  - job_name: mimamori\n    static_configs: [{targets: ["127.0.0.1:%s"]}]\n' $MM_PORT > "$W/series-prometheus.yml"
  rm -rf "$W/series-prometheus-data"
  prometheus --config.file="$W/series-prometheus.yml" --web.listen-address=127.0.0.1:$PROM_PORT \
    --storage.tsdb.path="$W/series-prometheus-data" >"$W/series-prometheus.log" 2>&1 &
  ppid=$!; PIDS+=($ppid)
  wait_port $PROM_PORT
  local load0 r peak=0; load0=$(load)
  log "series: Prometheus scraping $n transactions for $secs s"
  for _ in $(seq $((secs / 15))); do
    sleep 15
    r=$(rss_kb $ppid); [ "$r" -gt $peak ] && peak=$r
  done
  curl -s "http://127.0.0.1:$PROM_PORT/metrics" > "$W/series-prometheus-metrics.txt"
  local rss q scrape
  rss=$(rss_kb $ppid)
  q() { awk -v m="$1" '$1 == m { printf "%.0f", $2 }' "$W/series-prometheus-metrics.txt"; }
  scrape=$(curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query?query=scrape_duration_seconds" | sed -E 's/.*"value":\[[^,]*,"([^"]*)".*/\1/')
  awk -v bin="$MM" -v n="$n" -v lines="$lines" -v fixed="$fixed" -v size="$size" -v secs="$secs" \
    -v rss="$rss" -v peak="$peak" -v heap="$(q go_memstats_heap_inuse_bytes)" -v head="$(q prometheus_tsdb_head_series)" \
    -v chunks="$(q prometheus_tsdb_head_chunks)" -v mmrss="$(rss_kb $pid)" -v scrape="$scrape" -v load="$load0 → $(load)" 'BEGIN {
      printf "\nseries: %d one-GET transactions every 15 s, %s (load average %s)\n", n, bin, load
      printf "  one /metrics: %d series (%.1f per transaction, %d outside transactions), %.1f MB; exporter RSS %.1f MB\n", lines, (lines - fixed) / n, fixed, size / 1e6, mmrss / 1024
      printf "  Prometheus after %d s of 15 s scrapes: RSS %.0f MB (peak sample %.0f MB), go_memstats_heap_inuse_bytes %.0f MB,\n", secs, rss / 1024, peak / 1024, heap / 1048576
      printf "    prometheus_tsdb_head_series %d, head chunks %d, last scrape_duration_seconds %s\n", head, chunks, scrape
    }'
  stop $ppid; stop $pid
}

# browser: see the header. Builds only mimamori (no nginx, no blackbox_exporter).
browser() {
  command -v chromium >/dev/null || { echo "browser mode needs chromium (apt-get install chromium)" >&2; exit 69; }
  if [ -z "${BENCH_BIN:-}" ]; then log "building ($PROFILE)"; cargo build --profile "$PROFILE" --quiet --bin mimamori; fi
  local n=${BROWSER_TRANSACTIONS:-8} interval=${BROWSER_INTERVAL:-15s} warm=${BROWSER_WARMUP:-30}
  # The simulated services, probing nothing of their own in the window (HTTP once an hour).
  "$MM" demo --no-browser --interval 1h --web.listen-address "127.0.0.1:$MM1_PORT" >"$W/browser-demo.out" 2>"$W/browser-demo.log" &
  local dpid=$!; PIDS+=($dpid)
  wait_port $MM1_PORT
  local demo base ca
  demo=$(curl -s "http://127.0.0.1:$MM1_PORT/demo")
  base=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print([s["url"] for s in d["services"] if s["service"]=="hanbai"][0])' "$demo")
  ca=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ca_file"])' "$demo")
  {
    printf 'global:\n  location: bench\n  interval: %s\n  timeout: %s\n  step_timeout: 10s\n  ca_file: %s\n' "$interval" "$interval" "$ca"
    [ -z "${BROWSER_CONCURRENT:-}" ] || printf '  browser: {max_concurrent: %s}\n' "$BROWSER_CONCURRENT"
    printf 'services:\n  - name: hanbai\n    display_name: {ja: 販売, en: Sales}\n'
    printf '    objectives: {availability: 99.9, latency: {threshold: 3s, target: 99}}\n    transactions:\n'
    for ((i = 0; i < n; i++)); do
      cat <<EOF
      - name: ui$i
        browser:
          steps:
            - name: open-login
              goto: "$base/ui/login"
              ready: {selector: "#login"}
            - name: login
              actions:
                - fill: {selector: "#user", value: "bench"}
                - fill: {selector: "#password", value: "bench"}
                - click: "#submit"
              ready: {selector: "#list li a"}
            - name: open-detail
              actions: [{click: "#list li a"}]
              ready: {selector: "#detail h1"}
EOF
    done
  } > "$W/browser.yaml"
  "$MM" check --config "$W/browser.yaml" >/dev/null
  start_mimamori browser $MM_PORT "$W/browser.yaml"
  local pid=$MM_PID
  runs() { curl -s "http://127.0.0.1:$MM_PORT/metrics" | awk -v r="$1" '/^mimamori_step_duration_seconds_count\{/ && /step="open-login"/ && $0 ~ r { s += $NF } END { print s + 0 }'; }
  step_sum() { curl -s "http://127.0.0.1:$MM_PORT/metrics" | awk '/^mimamori_step_duration_seconds_sum\{/ { s += $NF } END { printf "%.3f", s }'; }
  log "browser: $n transactions every $interval, warming up ${warm} s"
  sleep "$warm"
  local load0 r0 ok0 s0 r1 ok1 s1 tree failed
  load0=$(load); r0=$(runs ''); ok0=$(runs 'result="success"'); s0=$(step_sum)
  log "browser: measuring ${SECS} s (load $load0)"
  tree=$(python3 "$ROOT/scripts/bench_proc_tree.py" "$pid" "$SECS" 1)
  r1=$(runs ''); ok1=$(runs 'result="success"'); s1=$(step_sum)
  failed=$(curl -s "http://127.0.0.1:$MM_PORT/metrics" | awk '/^mimamori_probe_failures_total\{/ && $NF > 0 { print "    " $0 }')
  awk -v n="$n" -v interval="$interval" -v secs="$SECS" -v bin="$MM" -v load="$load0 → $(load)" \
    -v runs=$((r1 - r0)) -v ok=$((ok1 - ok0)) -v steps="$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')" \
    -v tree="$tree" -v cores="$(nproc)" 'BEGIN {
      split(tree, kv, " "); for (i in kv) { split(kv[i], p, "="); m[p[1]] = p[2] }
      printf "\nbrowser: %d browser transactions of the demo UI every %s, %d s, %s (load average %s, %d cores)\n", n, interval, secs, bin, load, cores
      printf "  runs %d (%d with a successful first step); steps took %.2f s per run (3 steps)\n", runs, ok, runs ? steps / runs : 0
      printf "  CPU: mimamori %.2f s, its Chromium processes %.2f s, together %.2f s = %.3f s per run (%.1f %% of a core)\n", m["root_cpu"], m["tree_cpu"] - m["root_cpu"], m["tree_cpu"], runs ? m["tree_cpu"] / runs : 0, m["tree_cpu"] / secs * 100
      printf "  Chromium tree: RSS mean %.0f MB, peak %.0f MB; PSS mean %.0f MB, peak %.0f MB; %.1f processes (peak %d); mimamori RSS %.1f MB\n", m["rss_mean"], m["rss_peak"], m["pss_mean"], m["pss_peak"], m["procs_mean"], m["procs_peak"], m["root_rss"]
      if (runs) printf "  one core at a 1-minute interval: %.0f browser transactions (60 s / %.3f CPU s per run)\n", 60 / (m["tree_cpu"] / runs), m["tree_cpu"] / runs
    }'
  [ -z "$failed" ] || { echo "  failures counted:"; echo "$failed"; }
  stop $pid; stop $dpid
}

what=${1:-all}
if [ "$what" = browser ]; then
  browser
  exit 0
fi
if [ "$what" = notify ]; then
  exec cargo bench --profile "$PROFILE" --bench notify_delivery
fi
install
case $what in
  compare) compare ;;
  rss) rss ;;
  scale) scale ;;
  scale-https) scale https ;;
  rules) python3 "$ROOT/scripts/bench_rules.py" ;;
  accuracy) accuracy ;;
  addresses) addresses ;;
  series) series ;;
  all) compare; scale; scale https; accuracy; addresses; python3 "$ROOT/scripts/bench_rules.py" ;;
  *) echo "usage: $0 [compare|rss|scale|scale-https|accuracy|rules|addresses|series|notify|browser|all]" >&2; exit 64 ;;
esac
