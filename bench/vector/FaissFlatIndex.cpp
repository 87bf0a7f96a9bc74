// FaissFlatIndex: FAISS IndexFlatIP, exact inner-product search. FAISS scores a batch of 20 or
// more queries with one BLAS sgemm per block and smaller batches with its SIMD loop.
// Thread-safety: see BenchIndex.h.
#include <faiss/IndexFlat.h>

#include "BenchIndex.h"

namespace troupe::vbench {
namespace {

class FaissFlatIndex final : public BenchIndex {
 public:
  explicit FaissFlatIndex(const IndexOptions& o) : o_(o) {}
  std::string name() const override { return "FAISS IndexFlatIP"; }
  void build(const Dataset& d, int) override {
    index_ = std::make_unique<faiss::IndexFlatIP>(d.dims);
    index_->add(faiss::Index::idx_t(d.n), d.base.data());
  }
  std::size_t memory_bytes() const override { return index_->codes.size(); }
  std::vector<std::size_t> batch_sizes() const override {
    std::vector<std::size_t> b{1};
    b.insert(b.end(), o_.batches.begin(), o_.batches.end());
    return b;
  }
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* labels) const override {
    std::vector<float> dist(nq * k);
    index_->search(faiss::Index::idx_t(nq), q, faiss::Index::idx_t(k), dist.data(), labels);
  }

 private:
  IndexOptions o_;
  std::unique_ptr<faiss::IndexFlatIP> index_;
};

}  // namespace

std::unique_ptr<BenchIndex> make_faiss_flat(const IndexOptions& o) { return std::make_unique<FaissFlatIndex>(o); }

}  // namespace troupe::vbench
