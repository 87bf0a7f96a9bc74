// Int8Index: exact search on int8 codes (one scale per vector; a batch of queries is scored per
// cache-sized block of codes by the blocked int8 kernel, AVX-512 VNNI where available) that keeps
// int8_rerank * k candidates per query and re-ranks them with the float32 rows. The float rows
// stay in the VectorSet (usually the mapped segment file, paged in only for re-ranking).
// Thread-safety: immutable after construction; search() from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "memory/index/VectorIndex.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

class Int8Index final : public VectorIndex {
 public:
  Int8Index(std::shared_ptr<const VectorSet> data, int rerank);

  IndexKind kind() const noexcept override { return IndexKind::exact_int8; }
  int dims() const noexcept override { return data_->dims(); }
  std::size_t size() const noexcept override { return data_->size(); }
  std::size_t memory_bytes() const noexcept override;
  void search(std::span<const float> queries, std::size_t nq, std::size_t k,
              std::vector<std::vector<Hit>>& out) const override;
  void export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const override;

 private:
  std::shared_ptr<const VectorSet> data_;
  std::size_t stride_;              // dims rounded up to 64 bytes (zero padded)
  std::vector<std::int8_t> codes_;  // size() * stride_
  std::vector<float> scales_;
  std::vector<std::int32_t> row_sums_;  // sum of each row's codes (for the VNNI kernel)
  int rerank_;
};

}  // namespace troupe::memory
