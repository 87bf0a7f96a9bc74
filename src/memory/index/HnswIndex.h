// HnswIndex: approximate search with hnswlib's HNSW graph in inner-product space, using this
// project's runtime-dispatched SIMD dot kernel as the distance. The graph is built in memory from
// the vectors (segment files persist vectors only; the graph is rebuilt when a space loads).
// With IndexParams::hnsw_int8 the graph holds int8 codes (one scale per vector, VNNI dot) and the
// max(k, ef) candidates are re-ranked with the float rows of the VectorSet (kept, usually mapped).
// Thread-safety: immutable after build(); search() from any number of threads.
#pragma once

#include <memory>

#include "core/Result.h"
#include "memory/index/VectorIndex.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

class HnswIndex final : public VectorIndex {
 public:
  static Result<std::unique_ptr<HnswIndex>> build(const VectorSet& data, const IndexParams& p);
  // As above; in int8 mode the index keeps `data` for re-ranking instead of a copy.
  static Result<std::unique_ptr<HnswIndex>> build(std::shared_ptr<const VectorSet> data,
                                                  const IndexParams& p);
  ~HnswIndex() override;

  IndexKind kind() const noexcept override { return IndexKind::hnsw; }
  int dims() const noexcept override { return dims_; }
  std::size_t size() const noexcept override { return n_; }
  std::size_t memory_bytes() const noexcept override;
  void search(std::span<const float> queries, std::size_t nq, std::size_t k,
              std::vector<std::vector<Hit>>& out) const override;
  void search_with(std::span<const float> queries, std::size_t nq, std::size_t k,
                   const SearchParams& sp,
              std::vector<std::vector<Hit>>& out) const override;
  void export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const override;

 private:
  struct Impl;
  explicit HnswIndex(std::unique_ptr<Impl> impl, int dims, std::size_t n);
  static Result<std::unique_ptr<HnswIndex>> build_impl(const VectorSet& data,
                                                       std::shared_ptr<const VectorSet> keep,
                                                       const IndexParams& p);
  void search_i8(std::span<const float> queries, std::size_t nq, std::size_t k, std::size_t want,
                 std::vector<std::vector<Hit>>& out) const;
  std::unique_ptr<Impl> impl_;
  int dims_;
  std::size_t n_;
};

}  // namespace troupe::memory
