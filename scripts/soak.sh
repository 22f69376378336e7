#!/usr/bin/env bash
# Soak run, not part of the tests: the real exporter probing 160 transactions
# (half healthy, half hostile) every second for 10 minutes, with RSS and open
# file descriptors sampled from /proc. Figures are printed; see docs/soak.md.
#
#   scripts/soak.sh                     # 600 s, 160 transactions, debug build
#   SOAK_SECONDS=60 SOAK_TRANSACTIONS=40 PROFILE=release scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SOAK_SECONDS:-600}"
transactions="${SOAK_TRANSACTIONS:-160}"
profile="${PROFILE:-debug}"
flag=(); [ "$profile" = release ] && flag=(--release)
cargo build --quiet "${flag[@]}" --bin mimamori --example soak
exec "target/$profile/examples/soak" --mimamori "target/$profile/mimamori" \
  --seconds "$seconds" --transactions "$transactions"
