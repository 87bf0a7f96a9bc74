// IvfInt8Index: inverted lists over int8 codes. Spherical k-means (FAISS Clustering, fixed seed)
// picks nlist centroids; every vector is kept in the list of its best centroid as int8 codes (rows
// contiguous per list, padded to 64 bytes) + scale + code sum. A search scores its batch of
// queries against the centroids (one sgemm), takes each query's nprobe best lists, and scores
// every probed list once for all the queries of the batch that probe it (the blocked int8 kernel,
// AVX-512 VNNI where available); int8_rerank * k candidates per query are re-ranked in float32
// from the VectorSet's rows (the mapped segment in the server). nprobe == nlist is an exact int8
// scan. Results do not depend on how queries are batched (integer dot products are exact).
// Thread-safety: immutable after build(); search() from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/Result.h"
#include "memory/index/VectorIndex.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

class IvfInt8Index final : public VectorIndex {
 public:
  // nlist: p.ivf_nlist, or about sqrt(n) when 0; at most n / 39 (k-means needs points per list).
  static Result<std::unique_ptr<IvfInt8Index>> build(std::shared_ptr<const VectorSet> data,
                                                     const IndexParams& p);

  IndexKind kind() const noexcept override { return IndexKind::ivf_int8; }
  int dims() const noexcept override { return data_->dims(); }
  std::size_t size() const noexcept override { return data_->size(); }
  std::size_t memory_bytes() const noexcept override;
  void search(std::span<const float> queries, std::size_t nq, std::size_t k,
              std::vector<std::vector<Hit>>& out) const override;
  void search_with(std::span<const float> queries, std::size_t nq, std::size_t k,
                   const SearchParams& sp, std::vector<std::vector<Hit>>& out) const override;
  void export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const override;
  std::size_t nlist() const noexcept { return nlist_; }

 private:
  IvfInt8Index(std::shared_ptr<const VectorSet> data, const IndexParams& p);
  Status train(std::size_t nlist, std::uint64_t seed);
  void fill_lists();
  // Selects each query's probed lists: probes[q * np .. + np) (list numbers).
  void select_lists(const float* queries, std::size_t nq, std::size_t np,
                    std::vector<std::uint32_t>& probes) const;

  std::shared_ptr<const VectorSet> data_;
  std::size_t d_, stride_, nlist_ = 0;
  int nprobe_, rerank_;
  std::vector<float> centroids_;       // nlist_ * d_
  std::vector<std::uint32_t> offsets_;  // nlist_ + 1: list l holds positions [offsets_[l], offsets_[l+1])
  std::vector<std::uint32_t> rows_;     // position -> row of data_
  std::vector<std::int8_t> codes_;      // position * stride_
  std::vector<float> scales_;
  std::vector<std::int32_t> row_sums_;
};

}  // namespace troupe::memory
