// FaissHnswIndex: FAISS IndexHNSWFlat with the inner-product metric, searched with several
// efSearch. Built with OpenMP on the given number of threads.
// Thread-safety: see BenchIndex.h.
#include <faiss/IndexHNSW.h>
#include <omp.h>

#include "BenchIndex.h"

namespace troupe::vbench {
namespace {

class FaissHnswIndex final : public BenchIndex {
 public:
  explicit FaissHnswIndex(const IndexOptions& o) : o_(o) {}
  std::string name() const override {
    return "FAISS IndexHNSWFlat M=" + std::to_string(o_.hnsw_m) + " efC=" + std::to_string(o_.hnsw_ef_construction);
  }
  void build(const Dataset& d, int threads) override {
    index_ = std::make_unique<faiss::IndexHNSWFlat>(d.dims, o_.hnsw_m, faiss::METRIC_INNER_PRODUCT);
    index_->hnsw.efConstruction = o_.hnsw_ef_construction;
    omp_set_num_threads(threads);
    index_->add(faiss::Index::idx_t(d.n), d.base.data());
    omp_set_num_threads(1);
  }
  std::size_t memory_bytes() const override {
    const auto* flat = dynamic_cast<const faiss::IndexFlatCodes*>(index_->storage);
    std::size_t b = flat ? flat->codes.size() : 0;
    b += index_->hnsw.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t);
    b += index_->hnsw.offsets.size() * sizeof(std::size_t) + index_->hnsw.levels.size() * sizeof(int);
    return b;
  }
  std::vector<std::string> configs() const override {
    std::vector<std::string> c;
    for (int ef : o_.ef_search) c.push_back("ef=" + std::to_string(ef));
    return c;
  }
  void set_config(std::size_t i) override { index_->hnsw.efSearch = o_.ef_search[i]; }
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* labels) const override {
    std::vector<float> dist(nq * k);
    index_->search(faiss::Index::idx_t(nq), q, faiss::Index::idx_t(k), dist.data(), labels);
  }

 private:
  IndexOptions o_;
  std::unique_ptr<faiss::IndexHNSWFlat> index_;
};

}  // namespace

std::unique_ptr<BenchIndex> make_faiss_hnsw(const IndexOptions& o) { return std::make_unique<FaissHnswIndex>(o); }

}  // namespace troupe::vbench
