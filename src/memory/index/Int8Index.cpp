#include "memory/index/Int8Index.h"

#include <algorithm>

#include "memory/index/Int8Batch.h"
#include "memory/index/Int8Rerank.h"
#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"

namespace troupe::memory {

Int8Index::Int8Index(std::shared_ptr<const VectorSet> data, int rerank)
    : data_(std::move(data)), rerank_(std::max(1, rerank)) {
  const std::size_t d = static_cast<std::size_t>(data_->dims()), n = data_->size();
  stride_ = (d + kernels::kInt8Stride - 1) / kernels::kInt8Stride * kernels::kInt8Stride;
  codes_.assign(n * stride_, 0);
  scales_.resize(n);
  row_sums_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    scales_[i] = kernels::quantize_i8(data_->row(i), d, codes_.data() + i * stride_);
    row_sums_[i] = kernels::int8_row_sum(codes_.data() + i * stride_, stride_);
  }
}

std::size_t Int8Index::memory_bytes() const noexcept {
  return sizeof(*this) + codes_.capacity() + scales_.capacity() * sizeof(float) +
         row_sums_.capacity() * sizeof(std::int32_t) + data_->owned_bytes();
}

void Int8Index::search(std::span<const float> queries, std::size_t nq, std::size_t k,
                       std::vector<std::vector<Hit>>& out) const {
  out.assign(nq, {});
  const std::size_t n = size(), d = static_cast<std::size_t>(dims());
  if (k == 0 || n == 0) return;
  const std::size_t kk = std::min(k, n);
  const std::size_t cand = std::min(n, kk * static_cast<std::size_t>(rerank_));
  // Quantise every query, then scan the codes in blocks that stay in cache while all queries
  // of the batch are scored against them (codes are read from memory once per batch).
  std::vector<std::int8_t> qc(nq * stride_, 0);
  std::vector<float> qs(nq);
  for (std::size_t q = 0; q < nq; ++q)
    qs[q] = kernels::quantize_i8(queries.data() + q * d, d, qc.data() + q * stride_);
  // Candidates by approximate score; the row index is carried as the "id".
  std::vector<TopK> coarse(nq, TopK(cand));
  constexpr std::size_t kBlock = 256;  // 256 rows * 768 dims = 192 KiB of codes (L2)
  std::vector<std::int32_t> dots(nq * std::min(n, kBlock));
  for (std::size_t b = 0; b < n; b += kBlock) {
    const std::size_t m = std::min(n - b, kBlock);
    kernels::batch_dot_i8(qc.data(), nq, codes_.data() + b * stride_, row_sums_.data() + b, m,
                          stride_, dots.data(), m);
    for (std::size_t q = 0; q < nq; ++q) keep_approx(coarse[q], dots.data() + q * m, scales_.data(), qs[q], b, m);
  }
  for (std::size_t q = 0; q < nq; ++q) {
    out[q] = rerank(coarse[q], *data_, queries.data() + q * d, d, kk, [](VectorId row) { return row; });
  }
}

void Int8Index::export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  data_->append_to(ids, rows);
}

}  // namespace troupe::memory
