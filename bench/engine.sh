#!/usr/bin/env bash
# PiCloud's sandbox against stock Rhai on CPU-bound scripts: Rhai's own
# benchmark scripts (scripts/fibonacci.rhai, mat_mul.rhai, speed_test.rhai
# in Rhai's repository, copied into bench/engine/) run by stock `rhai-run`
# of the Rhai version PiCloud uses, and as PiCloud endpoints with raised
# limits, in alternating rounds. Each side measures the same thing: the
# script's own `timestamp()` ... `now.elapsed` (run time, without start-up
# or compilation). Prints a Markdown table; docs/performance.md records
# results.
#
# Needs rhai-run: cargo install rhai --version <PiCloud's> --bin rhai-run
# (or RHAI_RUN=/path/to/rhai-run).
# Usage: [ROUNDS=5] bench/engine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
RHAI_RUN=${RHAI_RUN:-$(command -v rhai-run || true)}
[ -x "$RHAI_RUN" ] || {
  echo "rhai-run is needed: cargo install rhai --version $(grep -A1 '^name = "rhai"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p') --bin rhai-run" >&2
  exit 1
}
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }

cargo build --release -q -p picloud
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PICLOUD_LOG=warn PICLOUD_ADMIN_USER=bench PICLOUD_ADMIN_PASSWORD=bench-password \
  PICLOUD_DATA_DIR="$WORK/data" PICLOUD_BIND="127.0.0.1:$PORT" target/release/picloud & PID=$!
for _ in $(seq 1 500); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.01; done
A="http://127.0.0.1:$PORT/api/v1/admin"
TOKEN=$(curl -sf -X POST "$A/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | jq -r .token)

SCRIPTS=(fibonacci mat_mul speed_test)
declare -A ID
for s in "${SCRIPTS[@]}"; do
  # The same source, answering its own run time (`print` goes nowhere in
  # PiCloud); limits raised to what the script needs.
  body=$(jq -n --arg name "$s" --rawfile src "bench/engine/$s.rhai" \
    '{name: $name, source: ($src + "\nnow.elapsed"),
      sandbox: {max_operations: 1000000000, timeout_ms: 60000}}')
  ID[$s]=$(curl -sf -X POST "$A/scripts" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d "$body" | jq -r .id)
done

run_stock() { "$RHAI_RUN" "bench/engine/$1.rhai" | sed -n 's/.*Run time = \([0-9.]*\) seconds.*/\1/p'; }
run_picloud() { curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/execute/${ID[$1]}"; }

declare -A STOCK PICLOUD
for r in $(seq 1 "$ROUNDS"); do
  for s in "${SCRIPTS[@]}"; do
    STOCK[$s]+="$(run_stock "$s") "
    PICLOUD[$s]+="$(run_picloud "$s") "
  done
done

echo "| script ($ROUNDS rounds, median run time) | stock rhai-run | PiCloud endpoint | ratio (median round; range) |"
echo "|---|---|---|---|"
for s in "${SCRIPTS[@]}"; do
  python3 - "$s" "${STOCK[$s]}" "${PICLOUD[$s]}" <<'EOF'
import statistics, sys
name, stock, picloud = sys.argv[1], list(map(float, sys.argv[2].split())), list(map(float, sys.argv[3].split()))
ratios = [p / s for p, s in zip(picloud, stock)]
print(f"| {name} | {statistics.median(stock) * 1000:.1f} ms | {statistics.median(picloud) * 1000:.1f} ms "
      f"| {statistics.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f}) |")
EOF
done
