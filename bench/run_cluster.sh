#!/usr/bin/env bash
# Turns/s of three Troupe nodes sharing one PostgreSQL and one Redis against one node on the
# embedded SQLite store, on the same machine, interleaved (1-node run, 3-node run, repeated REPS
# times). The 3-node load is three troupe_loadgen processes at once, one per node, each with a
# third of the users; their turns/s are summed and the worst p50/p99 is reported. Everything runs on
# 127.0.0.1, is started by this script (PostgreSQL via initdb in a temp dir, as the `postgres` user
# when run as root) and stopped by PID at the end.
#
# Usage: bench/run_cluster.sh [--skip-build]          (docs/BENCHMARKS.md, "Several nodes")
# Environment: USERS (150) DURATION (15) WARMUP (2) REPS (2) TRANSPORT (sse) TURNS_PER_CHAT (20)
#   MEMORY (off: memory.enabled=false on every node; "on" keeps the default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
USERS=${USERS:-150}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-2}
REPS=${REPS:-2}
TRANSPORT=${TRANSPORT:-sse}
TURNS_PER_CHAT=${TURNS_PER_CHAT:-20}
MEMORY=${MEMORY:-off}
BIN=$ROOT/build/release/src/troupe
LOADGEN=$ROOT/build/release/bench/troupe_loadgen
if [[ ${1:-} != --skip-build ]]; then
  cmake --preset release >/dev/null
  cmake --build build/release --target troupe troupe_loadgen >/dev/null
fi
OUT=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

SETS=(--set llm.sim_first_token_ms=0 --set llm.sim_token_delay_ms=0 --set llm.sim_reply_tokens=64
      --set limits.user_requests_per_second=0 --set limits.user_generations=0 --set limits.ip_connections=0)
[[ $MEMORY == off ]] && SETS+=(--set memory.enabled=false)

# start_node LOGFILE ARGS...: sets NODE_PID and NODE_URL
start_node() {
  local log=$1; shift
  "$BIN" serve --listen 127.0.0.1:0 "${SETS[@]}" "$@" >"$log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  for _ in $(seq 300); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.1; done
  NODE_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -1)
  [[ -n $NODE_URL ]] || { echo "node did not start:"; cat "$log"; exit 1; }
}
stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# One loadgen; prints its JSON result line.
loadgen() {  # URL TOKEN USERS
  "$LOADGEN" --url "$1" --token "$2" --users "$3" --duration "$DURATION" --warmup "$WARMUP" \
    --transport "$TRANSPORT" --turns-per-chat "$TURNS_PER_CHAT" --spaces per-user | grep '^{'
}

PGDIR=$(mktemp -d); chmod 755 "$PGDIR"; [[ $(id -u) == 0 ]] && chown postgres "$PGDIR"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U troupe -A trust -E UTF8 --no-locale >/dev/null
PGPORT=$(free_port)
as_pg "$PGBIN/postgres" -D "$PGDIR/data" -k "$PGDIR" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
  -c max_connections=200 >"$OUT/pg.log" 2>&1 &
PIDS+=($!)
REDISPORT=$(free_port)
redis-server --port "$REDISPORT" --bind 127.0.0.1 --save '' --appendonly no >"$OUT/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.1; done
PGURL="postgres://troupe@127.0.0.1:$PGPORT/postgres"

echo "machine: $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/Model name:[[:space:]]*//'); commit $(git rev-parse --short HEAD)"
echo "plan: $USERS users, $TRANSPORT, short chats ($TURNS_PER_CHAT turns), ${DURATION}s, memory $MEMORY, $REPS reps"
printf '| rep | setup | turns/s | p50 ms (worst node) | p99 ms (worst node) | errors |\n|---|---|---|---|---|---|\n'
for rep in $(seq "$REPS"); do
  # One node on SQLite (fresh data dir).
  D1=$(mktemp -d)
  start_node "$OUT/single.log" --data "$D1"
  TOKEN=$(grep -o 'trp_[0-9a-f]*' "$OUT/single.log" | head -1)
  r=$(loadgen "$NODE_URL" "$TOKEN" "$USERS")
  stop_pid "$NODE_PID"; rm -rf "$D1"
  echo "$r" | jq -r --arg rep "$rep" '"| \($rep) | 1 node, SQLite | \(.ops_per_s) | \(.latency_ms.p50) | \(.latency_ms.p99) | \(.errors) |"'

  # Three nodes on PostgreSQL + Redis (fresh database).
  as_pg "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U troupe -d postgres \
    -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null 2>&1
  redis-cli -p "$REDISPORT" FLUSHALL >/dev/null  # chat ids start again at 1: no old streams
  URLS=(); NPIDS=(); DIRS=()
  for n in a b c; do
    d=$(mktemp -d); DIRS+=("$d")
    start_node "$OUT/node-$n.log" --data "$d" --store "$PGURL" --bus "redis://127.0.0.1:$REDISPORT"
    URLS+=("$NODE_URL"); NPIDS+=("$NODE_PID")
  done
  TOKEN=$(grep -oh 'trp_[0-9a-f]*' "$OUT"/node-a.log | head -1)
  per=$((USERS / 3))
  LGP=()
  for i in 0 1 2; do loadgen "${URLS[$i]}" "$TOKEN" "$per" >"$OUT/lg-$i.json" & LGP+=($!); done
  for p in "${LGP[@]}"; do wait "$p" || true; done
  for p in "${NPIDS[@]}"; do stop_pid "$p"; done
  rm -rf "${DIRS[@]}"
  jq -s -r --arg rep "$rep" '"| \($rep) | 3 nodes, PostgreSQL + Redis | \(map(.ops_per_s) | add * 10 | round / 10) | \(map(.latency_ms.p50) | max) | \(map(.latency_ms.p99) | max) | \(map(.errors) | add) |"' "$OUT"/lg-*.json
done
