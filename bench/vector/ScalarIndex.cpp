// ScalarIndex: the plain reference: one scalar loop per (query, row) inner product and a partial
// sort, no SIMD intrinsics, no BLAS (the compiler may still vectorise what it can at -O2).
// Thread-safety: see BenchIndex.h.
#include <algorithm>
#include <utility>

#include "BenchIndex.h"

namespace troupe::vbench {
namespace {

class ScalarIndex final : public BenchIndex {
 public:
  std::string name() const override { return "scalar brute force (reference)"; }
  void build(const Dataset& d, int) override {
    dims_ = d.dims;
    n_ = d.n;
    rows_ = d.base;
  }
  std::size_t memory_bytes() const override { return rows_.size() * sizeof(float); }
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* labels) const override {
    std::vector<std::pair<float, std::int64_t>> s(n_);
    for (std::size_t i = 0; i < nq; ++i) {
      const float* qi = q + i * dims_;
      for (std::size_t r = 0; r < n_; ++r) {
        const float* x = rows_.data() + r * dims_;
        float acc = 0;
        for (int j = 0; j < dims_; ++j) acc += qi[j] * x[j];
        s[r] = {acc, std::int64_t(r)};
      }
      const std::size_t kk = std::min(k, n_);
      std::partial_sort(s.begin(), s.begin() + kk, s.end(), std::greater<>());
      for (std::size_t j = 0; j < k; ++j) labels[i * k + j] = j < kk ? s[j].second : -1;
    }
  }

 private:
  int dims_ = 0;
  std::size_t n_ = 0;
  std::vector<float> rows_;
};

}  // namespace

std::unique_ptr<BenchIndex> make_scalar_reference() { return std::make_unique<ScalarIndex>(); }

}  // namespace troupe::vbench
