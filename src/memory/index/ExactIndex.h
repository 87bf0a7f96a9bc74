// ExactIndex: brute-force float32 inner-product search over a VectorSet. A single query uses the
// SIMD dot kernel; a batch is scored in blocks of rows with one sgemm per block.
// Thread-safety: immutable after construction; search() from any number of threads.
#pragma once

#include <memory>

#include "memory/index/VectorIndex.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

class ExactIndex final : public VectorIndex {
 public:
  explicit ExactIndex(std::shared_ptr<const VectorSet> data);

  IndexKind kind() const noexcept override { return IndexKind::exact; }
  int dims() const noexcept override { return data_->dims(); }
  std::size_t size() const noexcept override { return data_->size(); }
  std::size_t memory_bytes() const noexcept override;
  void search(std::span<const float> queries, std::size_t nq, std::size_t k,
              std::vector<std::vector<Hit>>& out) const override;
  void export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const override;

  // Scores rows [begin, end) of `data` for nq queries into per-query selectors (shared with
  // Int8Index re-ranking and the engine's delta scan).
  static void scan(const VectorSet& data, const float* queries, std::size_t nq,
                   std::vector<class TopK>& tops);

 private:
  std::shared_ptr<const VectorSet> data_;
};

}  // namespace troupe::memory
