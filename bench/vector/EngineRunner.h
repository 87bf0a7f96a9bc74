// EngineRunner: end-to-end micro-batched search through Troupe's LocalVectorEngine: C client
// coroutines on one io_context thread keep C searches in flight against one space (the compute
// pool batches concurrent queries: window + batch_max); per-query latency is the time each
// search() took as seen by its caller, queueing and batching window included.
// Thread-safety: run_engine() owns its engine and io_context; call it from one thread at a time.
#pragma once

#include <string>

#include "Dataset.h"
#include "Runner.h"

namespace troupe::vbench {

struct EngineRun {
  std::string kind;  // index_override: "exact", "exact-int8", "hnsw", "ivf", "ivf-int8"
  int threads = 2;   // compute pool
  std::size_t concurrency = 32;
  std::uint32_t window_us = 200;
  std::size_t batch_max = 32;
  int ef = 64;
  int nprobe = 16;  // ivf / ivf-int8
  int rerank = 8;   // exact-int8 / ivf-int8
  int efc = 100;
};

// Returns false (and leaves m untouched) when the harness was built without the engine.
bool run_engine(const Dataset& d, const EngineRun& r, const RunLimits& lim, Measurement& m,
                double& mean_batch);

}  // namespace troupe::vbench
