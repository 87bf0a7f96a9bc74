#include "memory/index/Int8Index.h"

#include <algorithm>

#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"

namespace troupe::memory {

Int8Index::Int8Index(std::shared_ptr<const VectorSet> data, int rerank)
    : data_(std::move(data)), rerank_(std::max(1, rerank)) {
  const std::size_t d = static_cast<std::size_t>(data_->dims()), n = data_->size();
  stride_ = (d + 31) / 32 * 32;
  codes_.assign(n * stride_, 0);
  scales_.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    scales_[i] = kernels::quantize_i8(data_->row(i), d, codes_.data() + i * stride_);
}

std::size_t Int8Index::memory_bytes() const noexcept {
  return sizeof(*this) + codes_.capacity() + scales_.capacity() * sizeof(float) +
         data_->owned_bytes();
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
  constexpr std::size_t kBlock = 128;  // 128 rows * 768 dims = 96 KiB of codes
  for (std::size_t b = 0; b < n; b += kBlock) {
    const std::size_t e = std::min(n, b + kBlock);
    for (std::size_t q = 0; q < nq; ++q) {
      const std::int8_t* qv = qc.data() + q * stride_;
      TopK& t = coarse[q];
      for (std::size_t j = b; j < e; ++j) {
        const std::int32_t dot = kernels::dot_i8(qv, codes_.data() + j * stride_, stride_);
        const float approx = static_cast<float>(dot) * scales_[j] * qs[q];
        if (approx >= t.threshold()) t.push(j, approx);
      }
    }
  }
  for (std::size_t q = 0; q < nq; ++q) {
    const float* qv = queries.data() + q * d;
    TopK fine(kk);
    for (const Hit& c : coarse[q].take_sorted())
      fine.push(data_->id(c.id), kernels::dot_f32(qv, data_->row(c.id), d));
    out[q] = fine.take_sorted();
  }
}

void Int8Index::export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  const auto& s = *data_;
  ids.insert(ids.end(), s.ids().begin(), s.ids().end());
  rows.insert(rows.end(), s.rows(), s.rows() + s.size() * static_cast<std::size_t>(s.dims()));
}

}  // namespace troupe::memory
