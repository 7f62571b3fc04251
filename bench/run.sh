#!/usr/bin/env bash
# PiCloud benchmark: data-plane throughput against a bare axum hello-world
# measured in the same run, plus the idle figures (start-up time, RSS,
# wake-ups). Prints a Markdown table; docs/performance.md records results.
#
# Needs wrk (Debian: apt-get install wrk).
# Usage: [ROUNDS=5] bench/run.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
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

# Idle: RSS one second after start-up, then settled (the first start
# hashes the bootstrap admin's password on a blocking thread, whose memory
# is released when the thread ends, 10 s after its last use), and
# wake-ups over 5 s.
rss() { awk '/VmRSS/ {print $2}' /proc/"$1"/status; }
sleep 1
RSS_START_KB=$(rss $PID)
sleep 11
RSS_IDLE_KB=$(rss $PID)
C0=$(ctxsw $PID); sleep 5; C1=$(ctxsw $PID)
WAKEUPS=$((C1 - C0))

BASE="http://127.0.0.1:$PORT/api/v1"
TOKEN=$(curl -sf -X POST "$BASE/admin/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
# RSS after a sign-in (argon2 works in 19 MiB), settled.
RSS_LOGIN_KB=$(rss $PID)
sleep 11
RSS_LOGIN_SETTLED_KB=$(rss $PID)
ID=$(curl -sf -X POST "$BASE/admin/scripts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"hello","source":"\"Hello, world!\""}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
curl -sf "$BASE/execute/$ID" >/dev/null
# The same script through a user route.
curl -sf -X POST "$BASE/admin/scripts/$ID/routes" -H "authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"path":"/hello"}' >/dev/null
curl -sf "http://127.0.0.1:$PORT/hello" >/dev/null
# KV: one set and one get of a small map per request, over 10,000 keys.
KV_SOURCE='let c = kv::collection(\"bench\"); let k = \"k\" + rand::int(0, 9999); c.set(k, #{n: 1, s: \"hello\"}); c.get(k)'
KV_ID=$(curl -sf -X POST "$BASE/admin/scripts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"name\":\"kv\",\"source\":\"$KV_SOURCE\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
curl -sf "$BASE/execute/$KV_ID" >/dev/null

# Alternate the two, ROUNDS times, so drift on a shared machine hits both
# alike; each round's ratio compares runs seconds apart, and the median
# round is reported.
ROUNDS=${ROUNDS:-5}
RESULTS=()
for _ in $(seq 1 "$ROUNDS"); do
  RESULTS+=("$(rps "http://127.0.0.1:$BARE_PORT/hello")" "$(rps "$BASE/execute/$ID")" \
    "$(rps "http://127.0.0.1:$PORT/hello")" "$(rps "$BASE/execute/$KV_ID")")
done
RSS_LOADED_KB=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)

python3 - "${RESULTS[@]}" <<'PY'
import statistics, sys
runs = list(map(float, sys.argv[1:]))
rounds = list(zip(runs[0::4], runs[1::4], runs[2::4]))
kv = [runs[3::4][i] for i in range(len(rounds))]
med = statistics.median
ratios = sorted(p / b for b, p, _ in rounds)
route = sorted(r / p for _, p, r in rounds)
print(f"| bare axum hello-world | {med(b for b, _, _ in rounds):,.0f} req/s (median of {len(rounds)}) |")
print(f"| PiCloud hello-world (/api/v1/execute) | {med(p for _, p, _ in rounds):,.0f} req/s (median of {len(rounds)}) |")
print(f"| ratio | {med(ratios):.0%} of bare axum (median round; rounds {ratios[0]:.0%}–{ratios[-1]:.0%}) |")
print(f"| PiCloud hello-world (user route /hello) | {med(r for _, _, r in rounds):,.0f} req/s (median of {len(rounds)}) |")
print(f"| user route vs /api/v1/execute | {med(route):.0%} (median round; rounds {route[0]:.0%}–{route[-1]:.0%}) |")
print(f"| KV set + get round trips (SQLite) | {med(kv):,.0f} req/s (median of {len(kv)}; runs {min(kv):,.0f}–{max(kv):,.0f}) |")
PY
echo "| start-up to healthy /healthz (SQLite) | ${STARTUP_MS} ms |"
echo "| RSS 1 s after start-up | $((RSS_START_KB / 1024)) MiB |"
echo "| idle RSS (settled) | $((RSS_IDLE_KB / 1024)) MiB |"
echo "| RSS right after a sign-in / settled | $((RSS_LOGIN_KB / 1024)) / $((RSS_LOGIN_SETTLED_KB / 1024)) MiB |"
echo "| idle wake-ups in 5 s | ${WAKEUPS} |"
echo "| RSS after the load | $((RSS_LOADED_KB / 1024)) MiB |"
