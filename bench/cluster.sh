#!/usr/bin/env bash
# PiCloud cluster benchmark: the split layout (orchestrator -> executor over
# the wire, KV from the executor through the manager) against one
# all-in-one process, both on the same PostgreSQL, in alternating rounds of
# one run. Reports throughput, the ratio, and the CPU each execution costs
# across all the processes involved (so the wire's cost in microseconds of
# CPU). docs/performance.md records results.
#
# Needs wrk and PostgreSQL's programs (Debian: apt-get install wrk postgresql).
# Usage: [ROUNDS=3] bench/cluster.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
ROUNDS=${ROUNDS:-3}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { echo "PostgreSQL is needed: apt-get install postgresql" >&2; exit 1; }

cargo build --release -q -p picloud --bins
BIN=target/release
WORK=$(mktemp -d)
PIDS=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 1000); do curl -sf "$1" >/dev/null && return 0; sleep 0.01; done; echo "not up: $1" >&2; return 1; }
rps() { wrk -t1 -c32 -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
# CPU time (user + system) of processes, in clock ticks.
ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' /proc/"$p"/stat))); done; echo $t; }

# A private PostgreSQL (as CI runs it: no fsync, so the figures are the
# processes', not the disk's).
chmod 0755 "$WORK"; mkdir "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/pg"
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w \
  -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
for db in aio split; do "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$db"; done
PG="postgres://postgres@127.0.0.1:$PGPORT"
SECRET=bench-cluster-secret-0123456789
common=(PICLOUD_LOG=warn PICLOUD_ADMIN_USER=bench PICLOUD_ADMIN_PASSWORD=bench-password)

# All-in-one.
AIO=$(free_port)
env "${common[@]}" PICLOUD_DATA_DIR="$WORK/aio" DATABASE_URL="$PG/aio" PICLOUD_BIND="127.0.0.1:$AIO" \
  "$BIN/picloud" & AIO_PID=$!; PIDS+=($AIO_PID)

# Split: manager, one orchestrator, one executor.
M=$(free_port); O=$(free_port); E=$(free_port)
env "${common[@]}" PICLOUD_DATA_DIR="$WORK/m" DATABASE_URL="$PG/split" PICLOUD_BIND="127.0.0.1:$M" \
  PICLOUD_CLUSTER_SECRET=$SECRET PICLOUD_EXECUTOR_URLS="http://127.0.0.1:$E" \
  "$BIN/picloud-manager" & M_PID=$!; PIDS+=($M_PID)
wait_for "http://127.0.0.1:$M/healthz"
env PICLOUD_LOG=warn PICLOUD_BIND="127.0.0.1:$E" PICLOUD_CLUSTER_SECRET=$SECRET \
  PICLOUD_MANAGER_URL="http://127.0.0.1:$M" "$BIN/picloud-executor" & E_PID=$!; PIDS+=($E_PID)
env PICLOUD_LOG=warn PICLOUD_DATA_DIR="$WORK/o" DATABASE_URL="$PG/split" PICLOUD_BIND="127.0.0.1:$O" \
  PICLOUD_CLUSTER_SECRET=$SECRET PICLOUD_EXECUTOR_URLS="http://127.0.0.1:$E" \
  "$BIN/picloud-orchestrator" & O_PID=$!; PIDS+=($O_PID)
wait_for "http://127.0.0.1:$AIO/healthz"; wait_for "http://127.0.0.1:$E/healthz"; wait_for "http://127.0.0.1:$O/healthz"

# The same two scripts on each, at /hello and /kv.
KV_SOURCE='let c = kv::collection(\"bench\"); let k = \"k\" + rand::int(0, 9999); c.set(k, #{n: 1, s: \"hello\"}); c.get(k)'
deploy() { # admin-base name source path
  local token id
  token=$(curl -sf -X POST "$1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
  id=$(curl -sf -X POST "$1/scripts" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"name\":\"$2\",\"source\":\"$3\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
  curl -sf -X POST "$1/scripts/$id/routes" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"path\":\"$4\"}" >/dev/null
}
for admin in "http://127.0.0.1:$AIO/api/v1/admin" "http://127.0.0.1:$M/api/v1/admin"; do
  deploy "$admin" hello '\"Hello, world!\"' /hello
  deploy "$admin" kv "$KV_SOURCE" /kv
done
wait_for "http://127.0.0.1:$O/hello"; wait_for "http://127.0.0.1:$O/kv"
curl -sf "http://127.0.0.1:$AIO/kv" >/dev/null

# Rounds: all-in-one then split, for hello and for KV; each run's CPU over
# the processes that serve it, per request.
RESULTS=()
measure() { # url pids...
  local url=$1; shift
  local t0 t1 r
  t0=$(ticks "$@"); r=$(rps "$url"); t1=$(ticks "$@")
  echo "$r $((t1 - t0))"
}
for _ in $(seq 1 "$ROUNDS"); do
  RESULTS+=("$(measure "http://127.0.0.1:$AIO/hello" $AIO_PID)" \
            "$(measure "http://127.0.0.1:$O/hello" $O_PID $E_PID $M_PID)" \
            "$(measure "http://127.0.0.1:$AIO/kv" $AIO_PID)" \
            "$(measure "http://127.0.0.1:$O/kv" $O_PID $E_PID $M_PID)")
done

python3 - "$DURATION" "$(getconf CLK_TCK)" "${RESULTS[@]}" <<'PY'
import statistics, sys
duration, hz = float(sys.argv[1]), float(sys.argv[2])
runs = [tuple(map(float, r.split())) for r in sys.argv[3:]]
med = statistics.median
def col(i): return runs[i::4]
def us(run):  # CPU microseconds per request
    rps, ticks = run
    return ticks / hz * 1e6 / (rps * duration)
for name, a, s in (("hello-world user route", col(0), col(1)), ("KV set + get", col(2), col(3))):
    ratio = sorted(x[0] / y[0] for x, y in zip(s, a))
    print(f"| {name}, all-in-one (PostgreSQL) | {med(x[0] for x in a):,.0f} req/s, {med(us(x) for x in a):.0f} µs CPU per request |")
    print(f"| {name}, split (orchestrator → executor) | {med(x[0] for x in s):,.0f} req/s, {med(us(x) for x in s):.0f} µs CPU per request over the processes |")
    print(f"| ratio split / all-in-one | {med(ratio):.0%} (rounds {ratio[0]:.0%}–{ratio[-1]:.0%}); the wire costs {med(us(y) - us(x) for x, y in zip(a, s)):.0f} µs CPU per request |")
PY
