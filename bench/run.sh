#!/usr/bin/env bash
# PiCloud benchmark: data-plane throughput against a bare axum hello-world
# measured in the same run, plus the idle figures (start-up time, RSS,
# wake-ups). Prints a Markdown table; docs/performance.md records results.
#
# Needs wrk (Debian: apt-get install wrk). Usage: bench/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cargo build --release -q -p picloud -p picloud-bench-bare-hello
BIN=target/release
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 500); do curl -sf "$1" >/dev/null && return 0; sleep 0.01; done; return 1; }
rps() { wrk -t1 -c32 -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
ctxsw() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }

# Baseline: bare axum.
BARE_PORT=$(free_port)
"$BIN/picloud-bench-bare-hello" "127.0.0.1:$BARE_PORT" & PIDS+=($!)
wait_for "http://127.0.0.1:$BARE_PORT/hello"

# PiCloud on SQLite: start-up time to a healthy /healthz.
PORT=$(free_port)
START=$(date +%s.%N)
PICLOUD_DATA_DIR="$WORK/data" PICLOUD_BIND="127.0.0.1:$PORT" PICLOUD_LOG=warn \
  PICLOUD_ADMIN_USER=bench PICLOUD_ADMIN_PASSWORD=bench-password \
  "$BIN/picloud" & PID=$!; PIDS+=($PID)
wait_for "http://127.0.0.1:$PORT/healthz"
END=$(date +%s.%N)
STARTUP_MS=$(python3 -c "print(round(($END - $START) * 1000))")

# Idle: RSS and wake-ups over 5 s, before any request.
sleep 1
RSS_IDLE_KB=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
C0=$(ctxsw $PID); sleep 5; C1=$(ctxsw $PID)
WAKEUPS=$((C1 - C0))

BASE="http://127.0.0.1:$PORT/api/v1"
TOKEN=$(curl -sf -X POST "$BASE/admin/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
ID=$(curl -sf -X POST "$BASE/admin/scripts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"hello","source":"\"Hello, world!\""}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
curl -sf "$BASE/execute/$ID" >/dev/null

# Alternate the two so drift on a shared machine hits both alike.
B1=$(rps "http://127.0.0.1:$BARE_PORT/hello")
P1=$(rps "$BASE/execute/$ID")
B2=$(rps "http://127.0.0.1:$BARE_PORT/hello")
P2=$(rps "$BASE/execute/$ID")
RSS_LOADED_KB=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)

python3 - "$B1" "$B2" "$P1" "$P2" <<'PY'
import sys
b1, b2, p1, p2 = map(float, sys.argv[1:5])
bare, pic = (b1 + b2) / 2, (p1 + p2) / 2
print(f"| bare axum hello-world | {bare:,.0f} req/s |")
print(f"| PiCloud hello-world (/api/v1/execute) | {pic:,.0f} req/s |")
print(f"| ratio | {pic / bare:.0%} of bare axum |")
PY
echo "| start-up to healthy /healthz (SQLite) | ${STARTUP_MS} ms |"
echo "| idle RSS | $((RSS_IDLE_KB / 1024)) MiB |"
echo "| idle wake-ups in 5 s | ${WAKEUPS} |"
echo "| RSS after the load | $((RSS_LOADED_KB / 1024)) MiB |"
