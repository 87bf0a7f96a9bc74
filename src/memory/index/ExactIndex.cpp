#include "memory/index/ExactIndex.h"

#include <algorithm>

#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"

namespace troupe::memory {
namespace {
constexpr std::size_t kBlockRows = 2048;  // rows per sgemm block: nq * 2048 scores stay in cache
}

ExactIndex::ExactIndex(std::shared_ptr<const VectorSet> data) : data_(std::move(data)) {}

std::size_t ExactIndex::memory_bytes() const noexcept {
  return sizeof(*this) + data_->owned_bytes();
}

void ExactIndex::scan(const VectorSet& data, const float* queries, std::size_t nq,
                      std::vector<TopK>& tops) {
  const std::size_t n = data.size(), d = static_cast<std::size_t>(data.dims());
  if (n == 0 || nq == 0) return;
  if (nq == 1) {
    TopK& t = tops[0];
    for (std::size_t j = 0; j < n; ++j) t.push(data.id(j), kernels::dot_f32(queries, data.row(j), d));
    return;
  }
  std::vector<float> scores(nq * std::min(n, kBlockRows));
  for (std::size_t b = 0; b < n; b += kBlockRows) {
    const std::size_t m = std::min(kBlockRows, n - b);
    kernels::batch_ip(queries, nq, data.row(b), m, d, scores.data());
    for (std::size_t q = 0; q < nq; ++q) {
      const float* s = scores.data() + q * m;
      TopK& t = tops[q];
      for (std::size_t j = 0; j < m; ++j)
        if (s[j] >= t.threshold()) t.push(data.id(b + j), s[j]);
    }
  }
}

void ExactIndex::search(std::span<const float> queries, std::size_t nq, std::size_t k,
                        std::vector<std::vector<Hit>>& out) const {
  out.assign(nq, {});
  if (k == 0 || size() == 0) return;
  std::vector<TopK> tops(nq, TopK(std::min(k, size())));
  scan(*data_, queries.data(), nq, tops);
  for (std::size_t q = 0; q < nq; ++q) out[q] = tops[q].take_sorted();
}

void ExactIndex::export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  data_->append_to(ids, rows);
}

}  // namespace troupe::memory
