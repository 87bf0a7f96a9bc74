// EngineOptions / EngineStats: configuration and counters of LocalVectorEngine. Field names match
// the `[memory]` config keys that feed them.
// Thread-safety: plain value types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "memory/VectorEngine.h"

namespace troupe::memory {

struct EngineOptions {
  std::string dir;                      // segment files and the access history; "" = no files
  std::string embedder_name;            // stored in and checked against every segment file
  int dims = 0;
  int threads = 0;                      // compute pool size; 0 = hardware concurrency
  std::size_t max_queue = 1024;         // searches waiting or running; beyond → unavailable
  std::uint32_t batch_window_us = 200;  // micro-batch window (capped at 1000)
  std::size_t batch_max = 32;           // a batch runs at once when this many queries wait
  std::size_t int8_threshold = 8000;    // spaces this large use exact-int8
  std::size_t hnsw_threshold = 30000;   // spaces this large use HNSW
  std::string index_override;           // "" | "exact" | "exact-int8" | "hnsw" | "ivf" | "ivf-int8"
  int hnsw_m = 16;
  int hnsw_ef_construction = 100;
  int hnsw_ef_search = 64;
  bool hnsw_int8 = true;                // HNSW graph over int8 codes, re-ranked in float32
  int ivf_nlist = 0;                    // 0 = about 4 * sqrt(n)
  int ivf_nprobe = 16;
  int int8_rerank = 8;                  // int8 candidates per wanted hit re-ranked in float32
  std::size_t resident_spaces = 256;    // loaded indexes kept in memory
  // Spaces smaller than this get no segment file: reading them from the store is cheaper than
  // writing (and fsyncing) a file, which would hold a pool thread while searches wait.
  std::size_t min_file_vectors = 2048;
  int lru_k = 2;
  SpaceLoader loader;
};

struct EngineStats {
  std::uint64_t searches = 0;      // search() calls accepted
  std::uint64_t batches = 0;       // scoring passes (each one GEMM / index batch)
  std::uint64_t batched_queries = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t rejected = 0;      // queue full or closing
  std::uint64_t cancelled = 0;
  std::uint64_t errors = 0;
  std::uint64_t loads_from_file = 0;
  std::uint64_t loads_from_store = 0;
  std::uint64_t segment_rejected = 0;  // corrupt/stale files rebuilt from the store
  std::uint64_t compactions = 0;
  std::uint64_t evictions = 0;
  std::size_t queue_depth = 0;
  std::size_t resident = 0;
  std::size_t spaces = 0;
};

}  // namespace troupe::memory
