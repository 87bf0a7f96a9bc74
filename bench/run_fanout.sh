#!/usr/bin/env bash
# Fan-out latency, interleaved: 1 node on SQLite with the in-process bus (the baseline), then 3
# nodes on a private PostgreSQL + Redis, REPS times; 1,000 subscribers (CHATS x SUBS) in both.
# Each run is bench/fanout.mjs (see its header); the JSON lines go to $OUT/results.jsonl and a
# table of medians is printed. Everything runs on 127.0.0.1 and is stopped at the end.
#
# Usage: bench/run_fanout.sh [--skip-build]            (docs/BENCHMARKS.md, "Several nodes")
# Environment: REPS (2) CHATS (10) SUBS (100) TOKEN_MS (50) DURATION (20) WARMUP (3)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-2}
if [[ ${1:-} != --skip-build ]]; then
  cmake --preset release >/dev/null
  cmake --build build/release --target troupe >/dev/null
fi
[ -d tests/integration/node_modules/ws ] || (cd tests/integration && npm ci --no-audit --no-fund --loglevel=error)
OUT=${OUT:-build/release/bench-results/fanout-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
export TROUPE_BIN=${TROUPE_BIN:-$PWD/build/release/src/troupe}
for rep in $(seq "$REPS"); do
  for mode in single cluster; do
    echo "== rep $rep: $mode"
    MODE=$mode node bench/fanout.mjs | tee "$OUT/$mode-$rep.txt"
    tail -1 "$OUT/$mode-$rep.txt" >>"$OUT/results.jsonl"
  done
done
python3 - "$OUT/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
print("| topology | transport | deliveries/s | p50 ms | p99 ms | p99.9 ms |")
print("|---|---|---|---|---|---|")
base = {}
for mode in ("single", "cluster"):
    for tr in ("sse", "ws"):
        rs = [r[tr] for r in rows if r["mode"] == mode and r.get(tr)]
        if not rs: continue
        med = {k: statistics.median(x[k] for x in rs if x[k] is not None) for k in ("per_s", "p50_ms", "p99_ms", "p999_ms")}
        if mode == "single": base[tr] = med
        ratio = f" ({med['p99_ms'] / base[tr]['p99_ms']:.1f}x)" if mode == "cluster" and tr in base and base[tr]['p99_ms'] else ""
        print(f"| {mode} | {tr} | {med['per_s']:.0f} | {med['p50_ms']:.3f} | {med['p99_ms']:.3f}{ratio} | {med['p999_ms']:.3f} |")
PY
echo "results: $OUT"
