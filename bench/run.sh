#!/usr/bin/env bash
# PiCloud benchmark: data-plane throughput and p99 against the peers a user
# would pick instead, all run in the same session in alternating rounds
# (bare axum, Node.js `http`, nginx + Lua), on SQLite and on PostgreSQL,
# plus the idle figures (start-up time, RSS, wake-ups). Prints Markdown
# tables; docs/performance.md records results.
#
# Needs wrk. The peers and PostgreSQL are measured when installed, and
# reported as not measured otherwise (Debian: apt-get install wrk nodejs
# nginx libnginx-mod-http-lua lua-cjson postgresql).
# The CPU-bound comparison with stock Rhai (bench/engine.sh) runs last when
# rhai-run is installed (or RHAI_RUN names it).
# Usage: [ROUNDS=5] bench/run.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
ROUNDS=${ROUNDS:-5}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cargo build --release -q -p picloud -p picloud-bench-bare-hello
BIN=target/release
WORK=$(mktemp -d)
chmod 0755 "$WORK"
PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # PiCloud writes its pending execution records as it stops: PostgreSQL
  # stops after it.
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "$PGBIN" ] && [ -d "$WORK/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 1000); do curl -sf "$1" >/dev/null && return 0; sleep 0.01; done; echo "not up: $1" >&2; return 1; }
ctxsw() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
rss() { awk '/VmRSS/ {print $2}' /proc/"$1"/status; }

# --- The peers ---------------------------------------------------------------
BARE_PORT=$(free_port)
"$BIN/picloud-bench-bare-hello" "127.0.0.1:$BARE_PORT" & PIDS+=($!)
wait_for "http://127.0.0.1:$BARE_PORT/hello"
NODE=""
if command -v node >/dev/null; then
  NODE_PORT=$(free_port)
  node bench/peers/node.js "$NODE_PORT" & PIDS+=($!)
  wait_for "http://127.0.0.1:$NODE_PORT/hello" && NODE="http://127.0.0.1:$NODE_PORT"
fi
NGINX=""
if command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
  NGINX_PORT=$(free_port)
  mkdir -p "$WORK/nginx/tmp"
  sed "s/@PORT@/$NGINX_PORT/" bench/peers/nginx.conf >"$WORK/nginx/nginx.conf"
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" & PIDS+=($!)
  wait_for "http://127.0.0.1:$NGINX_PORT/json" && NGINX="http://127.0.0.1:$NGINX_PORT"
fi

# --- PiCloud on SQLite: start-up, idle ----------------------------------------
common=(PICLOUD_LOG=warn PICLOUD_ADMIN_USER=bench PICLOUD_ADMIN_PASSWORD=bench-password)
# Start-up, exec to a healthy /healthz: 5 first starts (fresh data
# directories) and 5 later starts (nothing to migrate), polled every ms.
read -r FIRST_MS FIRST_MIN FIRST_MAX LATER_MS LATER_MIN LATER_MAX \
  < <(python3 bench/startup.py "$BIN/picloud" 5 "$WORK")
PORT=$(free_port)
env "${common[@]}" PICLOUD_DATA_DIR="$WORK/data" PICLOUD_BIND="127.0.0.1:$PORT" \
  "$BIN/picloud" & PID=$!; PIDS+=($PID)
wait_for "http://127.0.0.1:$PORT/healthz"

# Idle: RSS one second after start-up, then settled (the first start
# hashes the bootstrap admin's password on a blocking thread, whose memory
# is released when the thread ends, 10 s after its last use), and
# wake-ups over 5 s.
sleep 1
RSS_START_KB=$(rss $PID)
sleep 11
RSS_IDLE_KB=$(rss $PID)
C0=$(ctxsw $PID); sleep 5; C1=$(ctxsw $PID)
WAKEUPS=$((C1 - C0))

# The scripts, each with a route: hello-world, a 20-item JSON list built
# per request, one KV set + get of a small map, one KV get (keys among
# 10,000, which the set + get runs fill).
JSON_SOURCE='let items = []; for i in 0..20 { items.push(#{id: i, name: \"item \" + i, done: i % 2 == 0}); } #{items: items}'
KV_SOURCE='let c = kv::collection(\"bench\"); let k = \"k\" + rand::int(0, 9999); c.set(k, #{n: 1, s: \"hello\"}); c.get(k)'
GET_SOURCE='let c = kv::collection(\"bench\"); c.get(\"k\" + rand::int(0, 9999))'
login() {
  curl -sf -X POST "$1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])'
}
deploy() { # admin-base token name source path; prints the id
  local id
  id=$(curl -sf -X POST "$1/scripts" -H "authorization: Bearer $2" -H 'content-type: application/json' \
    -d "{\"name\":\"$3\",\"source\":\"$4\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
  curl -sf -X POST "$1/scripts/$id/routes" -H "authorization: Bearer $2" \
    -H 'content-type: application/json' -d "{\"path\":\"$5\"}" >/dev/null
  echo "$id"
}
deploy_all() { # base-url
  local admin="$1/api/v1/admin" token
  token=$(login "$admin")
  HELLO_ID=$(deploy "$admin" "$token" hello '\"Hello, world!\"' /hello)
  deploy "$admin" "$token" json "$JSON_SOURCE" /json >/dev/null
  deploy "$admin" "$token" kv "$KV_SOURCE" /kv >/dev/null
  deploy "$admin" "$token" kvget "$GET_SOURCE" /kvget >/dev/null
  for path in /hello /json /kv /kvget; do curl -sf "$1$path" >/dev/null; done
}
SQLITE="http://127.0.0.1:$PORT"
deploy_all "$SQLITE"
SQLITE_HELLO_ID=$HELLO_ID
# RSS after a sign-in (argon2 works in 19 MiB), settled.
RSS_LOGIN_KB=$(rss $PID)
sleep 11
RSS_LOGIN_SETTLED_KB=$(rss $PID)

# --- PiCloud on PostgreSQL (a throwaway server, default durability) -----------
PG=""
if [ -n "$PGBIN" ]; then
  mkdir "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/pg"
  PGPORT=$(free_port)
  as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w \
    -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres bench
  PG_PORT=$(free_port)
  env "${common[@]}" PICLOUD_DATA_DIR="$WORK/pgdata" PICLOUD_BIND="127.0.0.1:$PG_PORT" \
    DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/bench" "$BIN/picloud" & PIDS+=($!)
  wait_for "http://127.0.0.1:$PG_PORT/healthz"
  PG="http://127.0.0.1:$PG_PORT"
  deploy_all "$PG"
fi

# --- Rounds ------------------------------------------------------------------
# Every workload once per round, in the same order, ROUNDS times, so drift
# on a shared machine hits all alike; each round's ratio compares runs
# seconds apart, and the median round is reported.
run() { # name url: prints "name req/s p99"
  wrk -t1 -c32 -d"${DURATION}s" --latency "$2" |
    awk -v n="$1" '/Requests\/sec/ {r = $2} $1 == "99%" {p = $2} END {print n, r, p}'
}
RESULTS=()
for _ in $(seq 1 "$ROUNDS"); do
  RESULTS+=("$(run bare "http://127.0.0.1:$BARE_PORT/hello")")
  [ -n "$NODE" ] && RESULTS+=("$(run node-hello "$NODE/hello")" "$(run node-json "$NODE/json")")
  [ -n "$NGINX" ] && RESULTS+=("$(run nginx-hello "$NGINX/hello")" "$(run nginx-json "$NGINX/json")")
  RESULTS+=("$(run hello "$SQLITE/hello")" "$(run execute "$SQLITE/api/v1/execute/$SQLITE_HELLO_ID")" \
    "$(run json "$SQLITE/json")" "$(run kv "$SQLITE/kv")" "$(run kvget "$SQLITE/kvget")")
  [ -n "$PG" ] && RESULTS+=("$(run pg-hello "$PG/hello")" "$(run pg-kv "$PG/kv")" "$(run pg-kvget "$PG/kvget")")
done
RSS_LOADED_KB=$(rss $PID)

python3 - "$ROUNDS" "${RESULTS[@]}" <<'PY'
import collections, statistics, sys
rounds = int(sys.argv[1])
runs = collections.defaultdict(list)  # name -> [(rps, p99 ms)] in round order
def ms(s):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float("nan")
for line in sys.argv[2:]:
    name, rps, p99 = line.split()
    runs[name].append((float(rps), ms(p99)))
med = statistics.median
def rps(n): return med(r for r, _ in runs[n])
def p99(n): return med(p for _, p in runs[n])
def ratio(a, b):
    if not runs.get(b):
        return "not measured"
    rs = sorted(x[0] / y[0] for x, y in zip(runs[a], runs[b]))
    return f"{med(rs):.2f}x ({rs[0]:.2f}–{rs[-1]:.2f})"
print(f"| workload ({rounds} rounds, median) | req/s | p99 | ratio (median round; range) |")
print("|---|---|---|---|")
rows = [
    ("bare axum hello-world", "bare", []),
    ("Node.js `http` hello-world", "node-hello", []),
    ("nginx + Lua hello-world", "nginx-hello", []),
    ("PiCloud hello-world, user route (SQLite)", "hello",
     [("bare axum", "bare"), ("Node.js", "node-hello"), ("nginx + Lua", "nginx-hello")]),
    ("PiCloud hello-world, /api/v1/execute", "execute", [("bare axum", "bare")]),
    ("Node.js `http` 20-item JSON", "node-json", []),
    ("nginx + Lua 20-item JSON", "nginx-json", []),
    ("PiCloud 20-item JSON script", "json", [("nginx + Lua", "nginx-json"), ("Node.js", "node-json")]),
    ("PiCloud KV set + get (SQLite)", "kv", []),
    ("PiCloud KV get (SQLite)", "kvget", []),
    ("PiCloud hello-world, user route (PostgreSQL)", "pg-hello", [("bare axum", "bare")]),
    ("PiCloud KV set + get (PostgreSQL)", "pg-kv", []),
    ("PiCloud KV get (PostgreSQL)", "pg-kvget", []),
]
for label, name, peers in rows:
    if not runs.get(name):
        print(f"| {label} | not measured | | |")
        continue
    vs = "; ".join(f"{ratio(name, peer)} of {plabel}" for plabel, peer in peers)
    print(f"| {label} | {rps(name):,.0f} | {p99(name):.2f} ms | {vs} |")
PY
echo
echo "| idle figure (SQLite) | |"
echo "|---|---|"
echo "| first start to healthy /healthz (5 starts: median, range) | ${FIRST_MS} ms (${FIRST_MIN}–${FIRST_MAX}) |"
echo "| later start to healthy /healthz (5 starts: median, range) | ${LATER_MS} ms (${LATER_MIN}–${LATER_MAX}) |"
echo "| RSS 1 s after start-up | $((RSS_START_KB / 1024)) MiB |"
echo "| idle RSS (settled) | $((RSS_IDLE_KB / 1024)) MiB |"
echo "| RSS right after a sign-in / settled | $((RSS_LOGIN_KB / 1024)) / $((RSS_LOGIN_SETTLED_KB / 1024)) MiB |"
echo "| idle wake-ups in 5 s | ${WAKEUPS} |"
echo "| RSS after the load | $((RSS_LOADED_KB / 1024)) MiB |"

# --- The engine: CPU-bound scripts against stock rhai-run ----------------------
echo
if [ -x "${RHAI_RUN:-$(command -v rhai-run || true)}" ]; then
  # After the servers above are gone, so they take no CPU from it.
  cleanup; trap - EXIT
  bench/engine.sh
else
  echo "CPU-bound scripts against stock rhai-run: not measured (no rhai-run; see bench/engine.sh)"
fi
