// BenchIndex: one index under test in the vector benchmark (a baseline library or Troupe's own),
// adapted to a common shape: build from a Dataset, a list of search settings (ef, nprobe, ...),
// the batch sizes it is measured with, and a search that writes row numbers (-1 = none).
// Thread-safety: build() and set_config() on one thread while no search runs; search() from any
// number of threads afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "Dataset.h"

namespace troupe::vbench {

class BenchIndex {
 public:
  virtual ~BenchIndex() = default;
  virtual std::string name() const = 0;
  // `threads` may be used to build in parallel.
  virtual void build(const Dataset& d, int threads) = 0;
  // Bytes of the built index held in memory (vectors, graph links, lists, ids).
  virtual std::size_t memory_bytes() const = 0;
  // When build() makes several indexes (one per setting): the first one's build time; else -1.
  virtual double first_build_seconds() const { return -1; }
  virtual std::vector<std::string> configs() const { return {"-"}; }
  virtual void set_config(std::size_t) {}
  // 1 = one query per call; larger sizes are micro-batches scored together.
  virtual std::vector<std::size_t> batch_sizes() const { return {1}; }
  virtual void search(const float* queries, std::size_t nq, std::size_t k,
                      std::int64_t* labels) const = 0;
};

struct IndexOptions {
  int hnsw_m = 16;
  int hnsw_ef_construction = 100;
  std::vector<int> ef_search = {16, 32, 64, 128, 256};
  int ivf_nlist = 0;  // 0: about sqrt(n)
  std::vector<int> nprobe = {4, 8, 16, 32, 64};
  std::vector<std::size_t> batches = {8, 32};
  std::vector<int> troupe_ef = {64, 128};     // Troupe HNSW ef, per search (one build)
  std::vector<int> troupe_nprobe = {8, 32};  // Troupe IVF nprobe, per search
  int troupe_rerank = 8;  // Troupe int8 indexes: candidates per wanted hit re-ranked in float32
};

std::unique_ptr<BenchIndex> make_hnswlib(const IndexOptions& o);
std::unique_ptr<BenchIndex> make_faiss_flat(const IndexOptions& o);
std::unique_ptr<BenchIndex> make_faiss_hnsw(const IndexOptions& o);
std::unique_ptr<BenchIndex> make_faiss_ivf(const IndexOptions& o);
std::unique_ptr<BenchIndex> make_scalar_reference();
// Troupe's indexes (src/memory/index): kind is "exact", "exact-int8", "hnsw", "hnsw-int8" (HNSW
// over int8 codes with float re-rank) or "ivf"; null when
// the harness was built without them.
std::unique_ptr<BenchIndex> make_troupe(const std::string& kind, const IndexOptions& o);

// Troupe's SIMD level and OpenBLAS set-up, for the report header.
std::string troupe_info();

// The IVF nlist default: about sqrt(n), at least 1.
int default_nlist(std::size_t n);

}  // namespace troupe::vbench
