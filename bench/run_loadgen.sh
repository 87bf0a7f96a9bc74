#!/usr/bin/env bash
# Builds the release preset, then measures chat turns against a fresh `troupe serve` (sim backend,
# zero model delay, 64-token replies). Every measurement gets its own server and data directory;
# each configuration runs REPS times, interleaved (rep 1 of everything, then rep 2, ...).
#
#   baseline  GET /healthz round trips, closed loop, one keep-alive connection per user (50, 200)
#   closed    users 50/200 x SSE/WebSocket x long/short chats, closed loop (each user starts its
#             next turn as soon as the previous one finished): the throughput ceiling
#   target    200 users paced at TARGET_RATE turns/s in total (short chats): latency at the
#             target throughput
#   light     50 users paced at LIGHT_RATE turns/s (short chats): latency without queueing
# "long" chats: one chat per user for the whole run (history grows every turn); "short": users
# move to a new chat every TURNS_PER_CHAT turns. Turn runs repeat for each MEMORY setting ("on":
# the default memory configuration; "off": memory.enabled=false). With SPACES=per-user (the
# default) each simulated user talks to a character of its own, so it has a memory space of its
# own as real users do ("shared": one character, one space for everybody). Each turn run also
# reports the server's memory retrieval latency (troupe_memory_retrieval_seconds from /metrics,
# scraped when its window opens and closes).
#
# Usage: bench/run_loadgen.sh [--diagnostics] [--profile] [--skip-build]   (docs/BENCHMARKS.md)
#   --diagnostics  also run the 50-user closed and the target configurations with the data
#                  directory on tmpfs (/dev/shm), where fsync costs nothing
#   --profile      one extra 50-user SSE long-chat run with `perf record` on the server
#   --skip-build   use the binaries already in build/release
# Environment: DURATION (20) WARMUP (2) HEALTHZ_DURATION (10) REPS (2) USERS ("50 200") TROUPE_BIN
#   TRANSPORTS ("sse ws") TURNS_PER_CHAT (20) TARGET_RATE (2000) LIGHT_RATE (200) OUT (results dir)
#   ONLY (regex on scenario/load/uN/transport/chats/fs/mem-M) SERVER_SET ("key=value ..." for the
#   server) MEMORY ("on off") SPACES (per-user | shared) SKIP_MICRO (set: skip the micro-benchmarks)
# Load goes only to 127.0.0.1; every run is bounded in time and stops by itself.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-2}
HEALTHZ_DURATION=${HEALTHZ_DURATION:-10}
REPS=${REPS:-2}
USERS=${USERS:-"50 200"}
TRANSPORTS=${TRANSPORTS:-"sse ws"}
TURNS_PER_CHAT=${TURNS_PER_CHAT:-20}
TARGET_RATE=${TARGET_RATE:-2000}
LIGHT_RATE=${LIGHT_RATE:-200}
MEMORY=${MEMORY:-"on off"}
SPACES=${SPACES:-per-user}
MEM=on                       # memory setting of the current measurement (healthz: on)
DIAGNOSTICS=0
PROFILE=0
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --diagnostics) DIAGNOSTICS=1 ;;
    --profile) PROFILE=1 ;;
    --skip-build) BUILD=0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

ONLY=${ONLY:-}              # regex on "scenario/load/uN/transport/chats/fs/mem-M": run only those
SERVER_SET_ARGS=()           # SERVER_SET="key=value ...": extra --set for every server
for kv in ${SERVER_SET:-}; do SERVER_SET_ARGS+=(--set "$kv"); done
BIN=${TROUPE_BIN:-$ROOT/build/release/src/troupe}  # TROUPE_BIN: compare another build (with --skip-build)
LOADGEN=$ROOT/build/release/bench/troupe_loadgen
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ROOT/build/release/bench-results/loadgen-$STAMP}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

# ----------------------------------------------------------------------------------------------
if [[ $BUILD == 1 ]]; then
  echo "== build (release preset)"
  cmake --preset release >"$OUT/configure.log" 2>&1
  if ! cmake --build build/release --target troupe troupe_loadgen sse_frame_bench token_alloc_bench >"$OUT/build.log" 2>&1; then
    tail -30 "$OUT/build.log"
    exit 1
  fi
fi
[[ -x $BIN && -x $LOADGEN ]] || { echo "missing $BIN or $LOADGEN" >&2; exit 1; }

# ----------------------------------------------------------------------------------------------
SERVER_PID=""
DATA_DIR=""
LG_PID=""
SERVER_STARTS=0
cleanup() {
  if [[ -n $LG_PID ]] && kill -0 "$LG_PID" 2>/dev/null; then kill -TERM "$LG_PID" 2>/dev/null || true; fi
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [[ -n $DATA_DIR && -d $DATA_DIR ]] && rm -rf "$DATA_DIR"
  SERVER_PID=""
  DATA_DIR=""
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# start_server FS: FS is "disk" (mktemp -d, the default temp dir) or "tmpfs" (/dev/shm).
start_server() {
  if [[ $1 == tmpfs ]]; then DATA_DIR=$(mktemp -d -p /dev/shm); else DATA_DIR=$(mktemp -d); fi
  MEM_ARGS=()
  [[ $MEM == off ]] && MEM_ARGS=(--set memory.enabled=false)
  SERVER_STARTS=$((SERVER_STARTS + 1))
  local log=$OUT/server-$SERVER_STARTS.out
  : >"$log"  # created before the server starts: never read a previous server's lines
  # One account drives every simulated user, so the per-account limits (requests/s, concurrent
  # generations) and the per-address connection cap are off: the run measures the turn path.
  "$BIN" serve --listen 127.0.0.1:0 --data "$DATA_DIR" --set llm.sim_first_token_ms=0 \
    --set llm.sim_token_delay_ms=0 --set llm.sim_reply_tokens=64 \
    --set limits.user_requests_per_second=0 --set limits.user_generations=0 \
    --set limits.ip_connections=0 "${MEM_ARGS[@]}" "${SERVER_SET_ARGS[@]}" >"$log" 2>>"$OUT/server.err" &
  SERVER_PID=$!
  for _ in $(seq 300); do
    if grep -q "admin token:" "$log" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -1 || true)
  TOKEN=$(grep -o 'trp_[0-9a-f]*' "$log" | head -1 || true)
  if [[ -z $URL || -z $TOKEN ]]; then
    echo "server did not start within 30 s (pid $SERVER_PID $(kill -0 "$SERVER_PID" 2>/dev/null && echo running || echo exited)):"
    cat "$log"
    tail -20 "$OUT/server.err"
    if command -v gdb >/dev/null && kill -0 "$SERVER_PID" 2>/dev/null; then
      gdb -p "$SERVER_PID" -batch -ex "thread apply all bt 12" >"$OUT/server_stuck_stacks.txt" 2>&1 || true
      echo "(thread stacks of the stuck server: $OUT/server_stuck_stacks.txt)"
    fi
    exit 1
  fi
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "   server ignored SIGTERM for 10 s; killing it" >&2
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  local status=0
  wait "$SERVER_PID" 2>/dev/null || status=$?
  if [[ $status != 0 ]]; then
    echo "   !! server exited with status $status after SIGTERM (log: $OUT/server-$SERVER_STARTS.out)" |
      tee -a "$OUT/server_failures.txt"
  fi
  SERVER_PID=""
  rm -rf "$DATA_DIR"
  DATA_DIR=""
}

# run_one SCENARIO USERS TRANSPORT HISTORY FS REP RATE   (RATE 0 = closed loop)
run_one() {
  local scenario=$1 users=$2 transport=$3 history=$4 fs=$5 rep=$6 rate=$7
  local load=closed
  [[ $rate != 0 ]] && load="paced$rate"
  local label="$scenario/$load/u$users/$transport/$history/$fs/mem-$MEM/rep$rep"
  local args=(--url "$URL" --users "$users" --warmup "$WARMUP" --server-pid "$SERVER_PID" --label "$label")
  if [[ $scenario == healthz ]]; then
    args+=(--scenario healthz --duration "$HEALTHZ_DURATION")
  else
    args+=(--token "$TOKEN" --transport "$transport" --duration "$DURATION" --rate "$rate" --spaces "$SPACES")
    [[ $history == short ]] && args+=(--turns-per-chat "$TURNS_PER_CHAT")
  fi
  echo "== $label"
  local out=$OUT/$(echo "$label" | tr '/' '_').txt
  # Exit status 3 = the run finished with errors; they are in the JSON line and the summary.
  # In the background so that a signal to this script is handled at once.
  timeout $((WARMUP + DURATION + 90)) "$LOADGEN" "${args[@]}" >"$out" &
  LG_PID=$!
  wait "$LG_PID" || true
  LG_PID=""
  sed '$d' "$out" | sed 's/^/   /'
  local line
  line=$(tail -1 "$out")
  if [[ $rep == 0 ]]; then
    :  # profiled runs are not part of the results (perf perturbs them)
  elif [[ $line == \{* ]]; then
    echo "$line" | jq -c --arg h "$history" --arg fs "$fs" --argjson rep "$rep" --arg load "$load" \
      --arg mem "$MEM" '. + {history: $h, fs: $fs, rep: $rep, load: $load, memory: $mem}' >>"$RESULTS"
  else
    echo "   (no result line)"
  fi
}

measure() {  # same arguments as run_one; a fresh server for each measurement
  local load=closed
  [[ $7 != 0 ]] && load="paced$7"
  if [[ -n $ONLY && ! "$1/$load/u$2/$3/$4/$5/mem-$MEM" =~ $ONLY ]]; then return 0; fi
  start_server "$5"
  run_one "$@"
  stop_server
}

# ----------------------------------------------------------------------------------------------
echo "== machine"
{
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:    $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (src modified)')"
  echo "server:    $BIN ${SERVER_SET:-}"
  echo "nproc:     $(nproc)"
  echo "cpu:       $(lscpu | grep 'Model name' | sed 's/Model name:[[:space:]]*//')"
  echo "memory:    $(free -h | awk '/^Mem:/ {print $2}')"
  echo "kernel:    $(uname -r)"
  echo "data dir:  $(df -T "$(dirname "$(mktemp -u)")" | awk 'NR==2 {print $2 " on " $1}') (mktemp -d)"
  echo "build:     release preset ($(grep -E '^CMAKE_BUILD_TYPE:|^CMAKE_CXX_FLAGS_RELWITHDEBINFO:|^CMAKE_CXX_FLAGS:' build/release/CMakeCache.txt | cut -d= -f2 | paste -sd' ' -))"
  echo "plan:      duration ${DURATION}s warmup ${WARMUP}s healthz ${HEALTHZ_DURATION}s reps $REPS users [$USERS] transports [$TRANSPORTS] short chats = $TURNS_PER_CHAT turns memory [$MEMORY] spaces $SPACES"
} | tee "$OUT/machine.txt"

# The storage floor: 4 KiB appends with O_DSYNC in the data directory's file system, the same kind
# of synchronous write a SQLite WAL commit with synchronous=FULL waits for.
fsync_probe() {
  local dir
  dir=$(mktemp -d)
  local secs
  secs=$(dd if=/dev/zero of="$dir/probe" bs=4k count=200 oflag=dsync 2>&1 | awk '/copied/ {print $(NF-3)}')
  rm -rf "$dir"
  echo "fsync probe ($1): $(awk -v s="$secs" 'BEGIN {printf "%.3f ms per 4 KiB O_DSYNC append (200 writes)", s * 1000 / 200}')" |
    tee -a "$OUT/machine.txt"
}
fsync_probe start

for rep in $(seq "$REPS"); do
  MEM=on
  for users in $USERS; do
    measure healthz "$users" http - disk "$rep" 0
  done
  for MEM in $MEMORY; do
    for users in $USERS; do
      for transport in $TRANSPORTS; do
        for history in long short; do
          measure turns "$users" "$transport" "$history" disk "$rep" 0
        done
      done
    done
    for transport in $TRANSPORTS; do
      measure turns 200 "$transport" short disk "$rep" "$TARGET_RATE"
      measure turns 50 "$transport" short disk "$rep" "$LIGHT_RATE"
    done
  done
  if [[ $DIAGNOSTICS == 1 ]]; then
    MEM=on
    measure healthz 50 http - tmpfs "$rep" 0
    for MEM in $MEMORY; do
      for transport in $TRANSPORTS; do
        for history in long short; do
          measure turns 50 "$transport" "$history" tmpfs "$rep" 0
        done
        measure turns 200 "$transport" short tmpfs "$rep" "$TARGET_RATE"
      done
    done
  fi
done

fsync_probe end

if [[ $PROFILE == 1 ]]; then
  if command -v perf >/dev/null; then
    echo "== profile: 50 users, sse, long chats, disk (perf record on the server, 5 s mid-run)"
    start_server disk
    run_one turns 50 sse long disk 0 0 >"$OUT/profile_run.txt" &
    lg=$!
    sleep $((WARMUP + DURATION / 2))
    perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$SERVER_PID" -o "$OUT/perf.data" \
      -- sleep 5 >/dev/null 2>&1 || echo "   perf record failed"
    wait "$lg" || true
    stop_server
    cat "$OUT/profile_run.txt"
    if [[ -s $OUT/perf.data ]]; then
      echo "-- server CPU by library"
      perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -8
      echo "-- troupe functions, inclusive (children) share of server CPU"
      perf report -i "$OUT/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
        grep -E '^ +[0-9.]+%.*troupe::' | grep -v -E 'boost::asio|std::' | cut -c1-160 | head -25
    fi
  else
    echo "== profile skipped: perf not installed"
  fi
fi

# ----------------------------------------------------------------------------------------------
echo
echo "== summary (median of $REPS runs, range = min–max; results: $RESULTS)"
jq -rs '
  def median: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor]
                     else (.[length/2 - 1] + .[length/2]) / 2 end;
  def r(n): if . == null then "-" else (. * pow(10; n) | round) / pow(10; n) | tostring end;
  . as $all
  | ($all | map(select(.scenario == "healthz")) | group_by([.users, .fs])
     | map({key: "\(.[0].users)/\(.[0].fs)", value: (map(.ops_per_s) | median)}) | from_entries) as $base
  | "| load | users | transport | chats | data | memory | turns/s | range | p50 ms | p90 ms | p99 ms | TTFT p99 ms | server CPU ms/turn | retrieval p50 / p99 ms (mode) | other load (cores) | healthz req/s | turns/s ÷ healthz | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ($all | map(select(.scenario == "turns")) | group_by([.fs, (.memory // "on"), (.offered_rate // 0), .users, .transport, .history])[]
     | . as $g
     | ($base["\($g[0].users)/\($g[0].fs)"] // $base["50/\($g[0].fs)"]) as $b
     | ($g | map(.ops_per_s) | median) as $tps
     | ([$g[] | (.retrieval // {}) | to_entries[] | select(.value.count > 0) | .key] | unique | map(. as $m | "\($g | map(.retrieval[$m].p50_ms // empty) | median | r(2)) / \($g | map(.retrieval[$m].p99_ms // empty) | median | r(2)) (\($m))") | join(", ")) as $ret
     | "| \($g[0].load) | \($g[0].users) | \($g[0].transport) | \($g[0].history) | \($g[0].fs) | \($g[0].memory // "on") | \($tps | r(0)) | \($g | map(.ops_per_s) | min | r(0))–\($g | map(.ops_per_s) | max | r(0)) | \($g | map(.latency_ms.p50) | median | r(1)) | \($g | map(.latency_ms.p90) | median | r(1)) | \($g | map(.latency_ms.p99) | median | r(1)) (\($g | map(.latency_ms.p99) | min | r(1))–\($g | map(.latency_ms.p99) | max | r(1))) | \($g | map(.ttft_ms.p99) | median | r(1)) | \($g | map(.server_cpu_ms_per_op) | median | r(3)) | \(if $ret == "" then "-" else $ret end) | \($g | map(.other_cpu_cores // 0) | median | r(2)) | \($b | r(0)) | \(if $b and $g[0].load == "closed" then ($tps / $b) | r(4) else "-" end) | \($g | map(.errors_total) | add) |"),
    "",
    "| baseline | users | data | req/s | range | p50 ms | p99 ms | server CPU ms/req | other load (cores) | errors |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ($all | map(select(.scenario == "healthz")) | group_by([.fs, .users])[]
     | "| GET /healthz | \(.[0].users) | \(.[0].fs) | \(map(.ops_per_s) | median | r(0)) | \(map(.ops_per_s) | min | r(0))–\(map(.ops_per_s) | max | r(0)) | \(map(.latency_ms.p50) | median | r(2)) | \(map(.latency_ms.p99) | median | r(2)) | \(map(.server_cpu_ms_per_op) | median | r(4)) | \(map(.other_cpu_cores // 0) | median | r(2)) | \(map(.errors_total) | add) |")
' "$RESULTS" | tee "$OUT/summary.md"

if [[ -z ${SKIP_MICRO:-} && -x $ROOT/build/release/bench/sse_frame_bench ]]; then
  echo
  echo "== micro-benchmark: per-token path (bench/sse_frame_bench.cpp)"
  "$ROOT/build/release/bench/sse_frame_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/sse_frame_bench.json" --benchmark_out_format=json 2>/dev/null | grep -E "median|^Benchmark|^-" |
    tee "$OUT/sse_frame_bench.txt"
fi
if [[ -x $ROOT/build/release/bench/token_alloc_bench ]]; then
  echo
  echo "== micro-benchmark: heap allocations per streamed token (bench/token_alloc_bench.cpp)"
  "$ROOT/build/release/bench/token_alloc_bench" 2>/dev/null | grep -E "^BM_|^Benchmark|^-" |
    tee "$OUT/token_alloc_bench.txt"
fi
echo
echo "targets: >= 2000 turns/s with p99 <= 10 ms (server-added latency: the sim adds no delay)"
