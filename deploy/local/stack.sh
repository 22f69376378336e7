#!/usr/bin/env bash
# A local stack for people: `mimamori demo` + Prometheus (with the generated rules)
# + Alertmanager (with the generated routing) + the status page, on loopback.
# Ctrl-C stops everything.
#
#   deploy/local/stack.sh            # then open the URLs it prints
#   MIMAMORI_NOTIFY=1 deploy/local/stack.sh   # also customer notices to a local SMTP sink
#                                              # (needs aiosmtpd and openssl; docs/notices.md)
#
# Needs Debian's `prometheus` and `prometheus-alertmanager` packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || missing+=(prometheus-alertmanager)
if [ -n "${MIMAMORI_NOTIFY:-}" ]; then
  python3 -c 'import aiosmtpd' 2>/dev/null || missing+=(python3-aiosmtpd)
  command -v openssl >/dev/null || missing+=(openssl)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "mimamori stack needs: ${missing[*]}" >&2
  echo "install with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 69
fi
AM=$(command -v prometheus-alertmanager || command -v alertmanager)

DEMO_PORT=${DEMO_PORT:-9732}; PROM_PORT=${PROM_PORT:-19190}; AM_PORT=${AM_PORT:-19193}; STATUS_PORT=${STATUS_PORT:-9733}
BIN=${MIMAMORI_BIN:-target/release/mimamori}
[ -n "${MIMAMORI_BIN:-}" ] || cargo build --release --quiet   # no-op when up to date
work=$(mktemp -d -t mimamori-stack.XXXXXX)
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo; echo "stopping…"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Rules and routing generated from what the demo runs: deploy/aoulu.yaml and, unless
# --no-browser, its browser transactions (the committed rules/ have none of those: no
# MimamoriBrowserUnavailable, no screenshot paths). The routing's receivers are left out
# (nothing is sent anywhere; the Alertmanager UI shows what would be).
"$BIN" demo --print-config "$@" | awk '/^  page:$/ {exit} {print}' > "$work/aoulu-local.yaml"
"$BIN" generate --config "$work/aoulu-local.yaml" --out "$work/gen" > "$work/generate.log" 2>&1 \
  || { cat "$work/generate.log" >&2; exit 1; }

cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 15s, evaluation_interval: 15s}
rule_files: ['$work/gen/rules/*.yml']
alerting: {alertmanagers: [{static_configs: [{targets: ['127.0.0.1:$AM_PORT']}]}]}
scrape_configs:
  - job_name: mimamori
    static_configs: [{targets: ['127.0.0.1:$DEMO_PORT']}]
  # The status page's own /metrics: the customer notices' series (docs/metrics.md), which the
  # 45-minute notice alert reads.
  - job_name: mimamori-status
    static_configs: [{targets: ['127.0.0.1:$STATUS_PORT']}]
YAML

"$BIN" demo --web.listen-address "127.0.0.1:$DEMO_PORT" "$@" > "$work/demo.out" 2>"$work/demo.log" & pids+=($!)
"$AM" --config.file="$work/gen/deploy/alertmanager/alertmanager.yml" --storage.path="$work/am" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= 2>"$work/alertmanager.log" & pids+=($!)
# 100 days kept: what `report` (last month) and the status page (90 days) read; `doctor` checks it.
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" --storage.tsdb.retention.time=100d \
  --web.listen-address="127.0.0.1:$PROM_PORT" 2>"$work/prometheus.log" & pids+=($!)

for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
STATUS_CONFIG=deploy/aoulu.yaml
status_extra=()
if [ -n "${MIMAMORI_NOTIFY:-}" ]; then
  # Customer notices (docs/notices.md, "Try it locally"): a throw-away CA and a certificate
  # for 127.0.0.1, an aiosmtpd sink with STARTTLS writing a maildir, and the page's config
  # with a notify: section sending to it.
  SMTP_PORT=${SMTP_PORT:-2525}
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mimamori-local-ca \
    -keyout "$work/ca.key" -out "$work/sink-ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$work/sink.key" -out "$work/sink.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$work/san.ext"
  openssl x509 -req -in "$work/sink.csr" -CA "$work/sink-ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile "$work/san.ext" -out "$work/sink.pem" 2>/dev/null
  mkdir -p "$work/mail/tmp" "$work/mail/new" "$work/mail/cur"   # a maildir for the Mailbox handler
  python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" --tlscert "$work/sink.pem" --tlskey "$work/sink.key" \
    -c aiosmtpd.handlers.Mailbox "$work/mail" 2>"$work/smtp.log" & pids+=($!)
  STATUS_CONFIG="$work/aoulu-notify.yaml"
  status_extra=(--web.external-url "http://127.0.0.1:$STATUS_PORT/")   # links in the mails
  cp deploy/aoulu.yaml "$STATUS_CONFIG"
  cat >> "$STATUS_CONFIG" <<YAML

notify:
  contacts: $PWD/deploy/local/contacts.csv
  confirm_after: 1m
  outbox: $work/outbox.sqlite
  smtp: {host: 127.0.0.1, port: $SMTP_PORT, ca_file: $work/sink-ca.pem, from: "AOULU <noreply@aoulu.example.jp>"}
YAML
fi
"$BIN" status --config "$STATUS_CONFIG" --prometheus.url "http://127.0.0.1:$PROM_PORT" \
  --web.listen-address "127.0.0.1:$STATUS_PORT" --refresh 15s "${status_extra[@]}" 2>"$work/status.log" & pids+=($!)
cat <<TXT
mimamori local stack — 見守り
  metrics               http://127.0.0.1:$DEMO_PORT/metrics
  Prometheus alerts     http://127.0.0.1:$PROM_PORT/alerts
  Prometheus rules      http://127.0.0.1:$PROM_PORT/rules
  Alertmanager          http://127.0.0.1:$AM_PORT/#/alerts
  status page           http://127.0.0.1:$STATUS_PORT/  (English: /en/)
  month to date         $BIN report --config deploy/aoulu.yaml --prometheus.url http://127.0.0.1:$PROM_PORT --month $(date +%Y-%m)
  check the stack       $BIN doctor --config deploy/aoulu.yaml --prometheus.url http://127.0.0.1:$PROM_PORT
  break denshibin       curl -X POST 'http://127.0.0.1:$DEMO_PORT/demo/fault?service=denshibin&mode=down&seconds=600'
                        (a page fires within about 2 minutes; see rules/README.md)
  break only its web UI curl -X POST 'http://127.0.0.1:$DEMO_PORT/demo/fault?service=denshibin&mode=ui_broken&seconds=600'
                        (the API stays fine: only the browser transaction inbox-ui fails, and the
                        same page fires; mode=ui_slow shows the list after 6 s instead; docs/browser.md#demo)
  logs                  $work/*.log
TXT
# The simulated services' web UI (and whether the demo runs its browser transactions).
grep -E '^  (web UI|browser transactions)' "$work/demo.out" 2>/dev/null || true
if [ -n "${MIMAMORI_NOTIFY:-}" ]; then
  cat <<TXT
  customer notices      python3 deploy/local/read-mail.py $work/mail
                        (a first notice about 1 minute after the page shows the incident)
TXT
fi
echo "Ctrl-C stops everything."
wait "${pids[0]}"
