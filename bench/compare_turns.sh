#!/usr/bin/env bash
# Compares two server builds (or repeats one) on the paced chat-turn load, in ABBA order so that
# the machine's slow and fast phases fall on both sides: each round runs A, B, B, A, every run
# against a fresh `troupe serve` and data directory (sim backend, zero model delay, 64-token
# replies, memory off, 200 users on short chats, the by-hand plan of docs/BENCHMARKS.md runs J-N).
# Prints one line per run and, at the end, the mean of each figure per side and the ratio B / A.
#
# Usage: bench/compare_turns.sh [options] A_BIN [B_BIN]
#   --rounds N        ABBA rounds (default 2; with one binary: 4N runs of it)
#   --rate R          offered turns/s (default 2000)
#   --transport T     sse | ws (default sse)
#   --duration S      measured seconds after a 2 s warm-up (default 12)
#   --aligned-rotation every user moves to a new chat at the same moment (a burst of 200 new
#                     chats and subscriptions every 20 turns); default: the moves are staggered
#   --split-cores     the server on CPU 0 only and the load generator on CPU 1 only (taskset):
#                     the server's figures without the load generator on its core
#   --set KEY=VALUE   extra server setting for both sides (repeatable)
# Environment: LOADGEN (default build/release/bench/troupe_loadgen), OUT (results directory).
# A binary may be a command with arguments in quotes, e.g. "env MALLOC_CONF=... /tmp/troupe".
# build/release/bench/troupe_turn_floor (bench/turn_floor/, the least work a server can do for
# the same turn) takes the server's command line, so it can be either side: the same-run baseline.
# Load goes only to 127.0.0.1; every run is bounded in time and stops its server.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=2 RATE=2000 TRANSPORT=sse DURATION=12 SPLIT=0
LG_EXTRA=()
SETS=()
BINS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --transport) TRANSPORT=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --split-cores) SPLIT=1; shift ;;
    --aligned-rotation) LG_EXTRA+=(--aligned-rotation); shift ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) BINS+=("$1"); shift ;;
  esac
done
[[ ${#BINS[@]} -ge 1 && ${#BINS[@]} -le 2 ]] || { echo "usage: $0 [options] A_BIN [B_BIN]" >&2; exit 2; }
[[ ${#BINS[@]} -eq 2 ]] || BINS+=("${BINS[0]}")
LOADGEN=${LOADGEN:-$ROOT/build/release/bench/troupe_loadgen}
[[ -x $LOADGEN ]] || { echo "missing $LOADGEN (cmake --build build/release --target troupe_loadgen)" >&2; exit 1; }
if [[ $SPLIT == 1 && $(nproc) -lt 2 ]]; then echo "--split-cores needs two CPUs" >&2; exit 1; fi
OUT=${OUT:-$ROOT/build/release/bench-results/compare-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
SERVER_PIN=() LOADGEN_PIN=()
if [[ $SPLIT == 1 ]]; then SERVER_PIN=(taskset -c 0); LOADGEN_PIN=(taskset -c 1); fi

SERVER_PID=""
cleanup() { if [[ -n $SERVER_PID ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# run_one SIDE BIN DIR: one measurement into DIR/lg.txt.
run_one() {
  local bin=$2 dir=$3 data
  mkdir -p "$dir"
  data=$(mktemp -d)
  # shellcheck disable=SC2086  # the binary may carry an env prefix and arguments
  "${SERVER_PIN[@]}" $bin serve --listen 127.0.0.1:0 --data "$data" --set llm.sim_first_token_ms=0 \
    --set llm.sim_token_delay_ms=0 --set llm.sim_reply_tokens=64 \
    --set limits.user_requests_per_second=0 --set limits.user_generations=0 \
    --set limits.ip_connections=0 --set memory.enabled=false "${SETS[@]}" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do grep -q "admin token:" "$dir/server.log" && break; sleep 0.1; done
  local url token
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$dir/server.log" | head -1 || true)
  token=$(grep -o 'trp_[0-9a-f]*' "$dir/server.log" | head -1 || true)
  if [[ -z $url || -z $token ]]; then
    echo "server did not start: $dir/server.log" >&2
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    exit 1
  fi
  "${LOADGEN_PIN[@]}" "$LOADGEN" --url "$url" --token "$token" --users 200 --warmup 2 \
    --server-pid "$SERVER_PID" --label "$1" --transport "$TRANSPORT" --duration "$DURATION" \
    --rate "$RATE" --spaces per-user --turns-per-chat 20 "${LG_EXTRA[@]}" >"$dir/lg.txt" 2>&1 || true
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  rm -rf "$data"
}

# figures DIR: "turns/s cpu p50 p99 lag999 lgcpu commit50" from a load generator report (commit50:
# the store writer's group commit p50, which shows the disk's phase during the run).
figures() {
  awk '
    /completed turns:/ { gsub(/[()]/, ""); tps = $4 }
    /latency ms:/ { p50 = $4; p99 = $8 }
    /server CPU:/ { cpu = $3 }
    /event-loop lag:/ { for (i = 1; i <= NF; i++) if ($i == "p99.9") lag = $(i + 1) }
    /loadgen CPU:/ { lg = $3 }
    /db group commit:/ { for (i = 1; i <= NF; i++) if ($i == "p50") commit = $(i + 1) }
    END {
      printf "%s %s %s %s %s %s %s\n", tps, cpu, p50, p99, (lag == "" ? "-" : lag), lg, (commit == "" ? "-" : commit)
    }' "$1/lg.txt"
}

echo "A = ${BINS[0]}"
echo "B = ${BINS[1]}"
echo "$RATE turns/s offered, $TRANSPORT, ${DURATION} s per run, $ROUNDS ABBA round(s)$([[ $SPLIT == 1 ]] && echo ', split cores')$([[ ${#LG_EXTRA[@]} -gt 0 ]] && echo ', aligned chat moves'); results in $OUT"
printf '%-8s %9s %11s %8s %8s %10s %11s %11s\n' run turns/s "CPU ms/turn" "p50 ms" "p99 ms" "lag p99.9" "loadgen ms" "commit p50"
: >"$OUT/figures.txt"
for r in $(seq "$ROUNDS"); do
  for side in A B B A; do
    bin=${BINS[0]}
    [[ $side == B ]] && bin=${BINS[1]}
    dir=$OUT/$side-$r-$RANDOM
    run_one "$side" "$bin" "$dir"
    f=$(figures "$dir")
    echo "$side $f" >>"$OUT/figures.txt"
    # shellcheck disable=SC2086
    printf '%-8s %9s %11s %8s %8s %10s %11s %11s\n' "$side r$r" $f
  done
done
# A figure a side did not report ("-": e.g. no event-loop lag from bench/turn_floor/) is left
# out of that side's mean, which then reads "-".
awk '
  { n[$1]++; for (i = 2; i <= 8; i++) if ($i != "-") { s[$1, i] += $i; k[$1, i]++ } }
  END {
    split("turns/s cpu_ms_per_turn p50_ms p99_ms lag_p99.9_ms loadgen_ms_per_turn commit_p50_ms", name, " ")
    printf "\nmeans (%d runs per side)\n", n["A"]
    for (i = 2; i <= 8; i++) {
      a = k["A", i] > 0 ? sprintf("%9.3f", s["A", i] / k["A", i]) : sprintf("%9s", "-")
      b = k["B", i] > 0 ? sprintf("%9.3f", s["B", i] / k["B", i]) : sprintf("%9s", "-")
      r = (a + 0 > 0 && b != sprintf("%9s", "-")) ? sprintf("%.3f", (b + 0) / (a + 0)) : "-"
      printf "  %-22s A %s   B %s   B/A %s\n", name[i - 1], a, b, r
    }
  }' "$OUT/figures.txt"
