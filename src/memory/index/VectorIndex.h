// VectorIndex: the internal interface of one space's immutable search index (exact float32 scan,
// int8 scan with float re-rank, HNSW, IVF-Flat, IVF over int8 codes). Built once from a VectorSet, then only searched;
// the engine replaces whole indexes (copy-on-write) instead of mutating them.
// Thread-safety: after build, every const member may be called from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "memory/VectorEngine.h"

namespace troupe::memory {

enum class IndexKind : std::uint32_t { exact = 1, exact_int8 = 2, hnsw = 3, ivf = 4, ivf_int8 = 5 };

std::string_view index_kind_name(IndexKind k) noexcept;  // "exact", "exact-int8", "hnsw", "ivf", "ivf-int8"
std::optional<IndexKind> parse_index_kind(std::string_view s) noexcept;

struct IndexParams {
  int hnsw_m = 16;
  int hnsw_ef_construction = 200;
  int hnsw_ef_search = 128;
  int ivf_nlist = 0;      // 0: about 4 * sqrt(n)
  int ivf_nprobe = 16;
  int int8_rerank = 8;    // int8 candidates per wanted hit, re-ranked in float32
  int build_threads = 1;  // HNSW graph insertion threads (1..16; 0: one per hardware thread)
  bool hnsw_int8 = false;  // HNSW graph over int8 codes; candidates re-ranked in float32
  std::uint64_t seed = 42;
};

// Per-call search settings; 0 keeps the value the index was built with (IndexParams).
struct SearchParams {
  int hnsw_ef = 0;     // HNSW candidate list size (clamped to 1..4096, at least k)
  int ivf_nprobe = 0;  // IVF lists probed (clamped to 1..nlist)
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual IndexKind kind() const noexcept = 0;
  virtual int dims() const noexcept = 0;
  virtual std::size_t size() const noexcept = 0;
  // Bytes held in process memory (mapped segment pages are not counted).
  virtual std::size_t memory_bytes() const noexcept = 0;

  // Top-k for nq queries (queries.size() == nq * dims, row-major); out gets nq lists, best first.
  // k == 0 or an empty index gives empty lists.
  virtual void search(std::span<const float> queries, std::size_t nq, std::size_t k,
                      std::vector<std::vector<Hit>>& out) const = 0;
  // As search(), with per-call settings; kinds without such settings ignore them.
  virtual void search_with(std::span<const float> queries, std::size_t nq, std::size_t k,
                           const SearchParams& sp, std::vector<std::vector<Hit>>& out) const {
    (void)sp;
    search(queries, nq, k, out);
  }

  // Appends every (id, row) held to ids / rows (to rebuild or persist).
  virtual void export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const = 0;
};

}  // namespace troupe::memory
