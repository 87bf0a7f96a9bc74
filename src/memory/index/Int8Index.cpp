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
  std::vector<std::int8_t> qc(stride_, 0);
  for (std::size_t q = 0; q < nq; ++q) {
    const float* qv = queries.data() + q * d;
    const float qs = kernels::quantize_i8(qv, d, qc.data());
    // Candidates by approximate score; the index into the set is carried as the "id".
    TopK coarse(cand);
    for (std::size_t j = 0; j < n; ++j) {
      const std::int32_t dot = kernels::dot_i8(qc.data(), codes_.data() + j * stride_, stride_);
      coarse.push(j, static_cast<float>(dot) * scales_[j] * qs);
    }
    TopK fine(kk);
    for (const Hit& c : coarse.take_sorted())
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
