// FaissIvfIndex: FAISS IndexIVFFlat (inner product; flat coarse quantizer, k-means trained on the
// base vectors), searched with several nprobe.
// Thread-safety: see BenchIndex.h.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>

#include <cmath>

#include "BenchIndex.h"

namespace troupe::vbench {
namespace {

class FaissIvfIndex final : public BenchIndex {
 public:
  explicit FaissIvfIndex(const IndexOptions& o) : o_(o) {}
  std::string name() const override { return "FAISS IndexIVFFlat nlist=" + std::to_string(nlist_); }
  void build(const Dataset& d, int threads) override {
    nlist_ = o_.ivf_nlist > 0 ? o_.ivf_nlist : default_nlist(d.n);
    quantizer_ = std::make_unique<faiss::IndexFlatIP>(d.dims);
    index_ = std::make_unique<faiss::IndexIVFFlat>(quantizer_.get(), d.dims, std::size_t(nlist_),
                                                   faiss::METRIC_INNER_PRODUCT);
    omp_set_num_threads(threads);
    index_->train(faiss::Index::idx_t(d.n), d.base.data());
    index_->add(faiss::Index::idx_t(d.n), d.base.data());
    omp_set_num_threads(1);
  }
  std::size_t memory_bytes() const override {
    std::size_t b = quantizer_->codes.size();
    for (std::size_t l = 0; l < index_->nlist; ++l)
      b += index_->invlists->list_size(l) * (index_->code_size + sizeof(faiss::Index::idx_t));
    return b;
  }
  std::vector<std::string> configs() const override {
    std::vector<std::string> c;
    for (int p : o_.nprobe) c.push_back("nprobe=" + std::to_string(p));
    return c;
  }
  void set_config(std::size_t i) override { index_->nprobe = std::size_t(o_.nprobe[i]); }
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* labels) const override {
    std::vector<float> dist(nq * k);
    index_->search(faiss::Index::idx_t(nq), q, faiss::Index::idx_t(k), dist.data(), labels);
  }

 private:
  IndexOptions o_;
  int nlist_ = 0;
  std::unique_ptr<faiss::IndexFlatIP> quantizer_;
  std::unique_ptr<faiss::IndexIVFFlat> index_;
};

}  // namespace

std::unique_ptr<BenchIndex> make_faiss_ivf(const IndexOptions& o) { return std::make_unique<FaissIvfIndex>(o); }

int default_nlist(std::size_t n) { return std::max(1, int(std::lround(std::sqrt(double(n))))); }

}  // namespace troupe::vbench
