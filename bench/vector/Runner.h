// Runner: times one BenchIndex setting on a Dataset: T worker threads take batches of queries in
// order from a shared counter (each call is timed), for up to a time budget; reports throughput,
// per-call latency percentiles and recall@k over the queries answered.
// Thread-safety: measure() owns its worker threads; call it from one thread at a time.
#pragma once

#include <cstddef>

#include "BenchIndex.h"
#include "Dataset.h"

namespace troupe::vbench {

struct Measurement {
  double qps = 0;
  double p50_us = 0, p95_us = 0, p99_us = 0;  // per call (a batch's queries all wait that long)
  double recall = 0;
  std::size_t queries = 0;
  std::size_t errors = 0;
};

struct RunLimits {
  std::size_t k = 10;
  std::size_t max_queries = 1000;
  double max_seconds = 1.0;  // stop taking new batches after this (at least 2 batches per thread)
};

Measurement measure(const BenchIndex& index, const Dataset& d, std::size_t batch, int threads,
                    const RunLimits& lim);

}  // namespace troupe::vbench
