#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: unlike req/s,
# the count is the same from run to run whatever else the machine does, so
# an A/B of two builds needs one run of each, not rounds of wrk on a noisy
# machine. It counts instructions, not time: cache misses, system calls
# and waiting are not in it (bench/run.sh measures those).
#
# For each workload it prints the instructions per request of the whole
# process and of the request path alone (everything but the SQLite
# writer's transactions: the records, and the KV writes of the set + get
# workload). The writer's share is printed apart:
# under valgrind requests are ~50x slower, so each 200 ms batch of records
# holds fewer of them and its fixed costs weigh more than at full speed.
#
# Needs valgrind and wrk (Debian: apt-get install valgrind wrk).
# Usage: bench/instructions.sh [path/to/picloud] [seconds per workload]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in valgrind callgrind_control callgrind_annotate wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install valgrind wrk" >&2; exit 1; }
done
BIN=${1:-}
SECONDS_EACH=${2:-10}
if [ -z "$BIN" ]; then
  cargo build --release -q -p picloud -p picloud-bench-bare-hello
  BIN=target/release/picloud
fi
BARE=target/release/picloud-bench-bare-hello
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }

# Counts `url` for SECONDS_EACH seconds after a warm-up; prints
# "requests total-Ir writer-Ir".
count() { # pid url
  local pid=$1 url=$2
  wrk -t1 -c32 -d2s "$url" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  local n
  n=$(wrk -t1 -c32 -d"${SECONDS_EACH}s" "$url" | awk '/requests in/ {print $1}')
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 0.5
  local file # the newest numbered dump
  file=$(ls -t "$WORK"/callgrind.out.*.[0-9]* | head -n 1)
  python3 - "$n" "$file" <<'PY'
import re, subprocess, sys
n, path = int(sys.argv[1]), sys.argv[2]
out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                     capture_output=True, text=True).stdout
total = writer = 0
for line in out.splitlines():
    m = re.match(r"\s*([\d,]+) .*(PROGRAM TOTALS|SqliteWriter::write \[)", line)
    if m:
        v = int(m.group(1).replace(",", ""))
        if m.group(2) == "PROGRAM TOTALS":
            total = v
        elif not writer:
            writer = v
print(n, total, writer)
PY
}

report() { # label "n total writer"
  read -r n total writer <<<"$2"
  python3 -c "
n, t, w = $n, $total, $writer
print(f'| $1 | {n:,} | {t / n:,.0f} | {(t - w) / n:,.0f} | {w / n:,.0f} |')"
}

PORT=$(free_port)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out.bare" \
  "$BARE" "127.0.0.1:$PORT" >"$WORK/bare.log" 2>&1 & BARE_PID=$!; PIDS+=($BARE_PID)
wait_for "http://127.0.0.1:$PORT/hello"
callgrind_control -i on "$BARE_PID" >/dev/null 2>&1
BARE_RESULT=$(count "$BARE_PID" "http://127.0.0.1:$PORT/hello")
kill "$BARE_PID"

PORT=$(free_port)
env PICLOUD_LOG=warn PICLOUD_ADMIN_USER=bench PICLOUD_ADMIN_PASSWORD=bench-password \
  PICLOUD_DATA_DIR="$WORK/data" PICLOUD_BIND="127.0.0.1:$PORT" \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out.picloud" \
  "$BIN" >"$WORK/picloud.log" 2>&1 & PID=$!; PIDS+=($PID)
BASE="http://127.0.0.1:$PORT"
wait_for "$BASE/healthz"
ADMIN="$BASE/api/v1/admin"
TOKEN=$(curl -sf -X POST "$ADMIN/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
deploy() { # name source path
  local id
  id=$(curl -sf -X POST "$ADMIN/scripts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"name\":\"$1\",\"source\":\"$2\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
  curl -sf -X POST "$ADMIN/scripts/$id/routes" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d "{\"path\":\"$3\"}" >/dev/null
}
# The same scripts as bench/run.sh.
deploy hello '\"Hello, world!\"' /hello
deploy json 'let items = []; for i in 0..20 { items.push(#{id: i, name: \"item \" + i, done: i % 2 == 0}); } #{items: items}' /json
deploy kv 'let c = kv::collection(\"bench\"); let k = \"k\" + rand::int(0, 9999); c.set(k, #{n: 1, s: \"hello\"}); c.get(k)' /kv
deploy kvget 'let c = kv::collection(\"bench\"); c.get(\"k\" + rand::int(0, 9999))' /kvget
callgrind_control -i on "$PID" >/dev/null 2>&1
HELLO=$(count "$PID" "$BASE/hello")
JSON=$(count "$PID" "$BASE/json")
KV=$(count "$PID" "$BASE/kv")
KVGET=$(count "$PID" "$BASE/kvget")

echo "| workload (callgrind, $SECONDS_EACH s of wrk -c32) | requests | instructions / request | request path | SQLite writer |"
echo "|---|---|---|---|---|"
report "bare axum hello-world" "$BARE_RESULT"
report "PiCloud hello-world, user route (SQLite)" "$HELLO"
report "PiCloud 20-item JSON script" "$JSON"
report "PiCloud KV set + get (SQLite)" "$KV"
report "PiCloud KV get (SQLite)" "$KVGET"
