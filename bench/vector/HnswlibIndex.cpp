// HnswlibIndex: hnswlib's HierarchicalNSW with the inner-product space, built with parallel
// inserts; searched with several ef. This file is compiled with -march=native so hnswlib's
// distance functions use the widest SIMD the CPU has (they are chosen at compile time); it is
// linked as a shared library whose only exported symbol is make_hnswlib.
// Thread-safety: see BenchIndex.h.
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <thread>

#pragma GCC visibility push(default)
#include "BenchIndex.h"
#pragma GCC visibility pop

namespace troupe::vbench {
namespace {

class HnswlibIndex final : public BenchIndex {
 public:
  explicit HnswlibIndex(const IndexOptions& o) : o_(o) {}
  std::string name() const override {
    return "hnswlib HNSW M=" + std::to_string(o_.hnsw_m) + " efC=" + std::to_string(o_.hnsw_ef_construction);
  }
  void build(const Dataset& d, int threads) override {
    space_ = std::make_unique<hnswlib::InnerProductSpace>(std::size_t(d.dims));
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), d.n, std::size_t(o_.hnsw_m),
                                                               std::size_t(o_.hnsw_ef_construction), 100);
    index_->addPoint(d.row(0), 0);
    std::atomic<std::size_t> next{1};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        for (std::size_t i; (i = next.fetch_add(1)) < d.n;) index_->addPoint(d.row(i), i);
      });
    for (auto& t : ts) t.join();
  }
  std::size_t memory_bytes() const override {
    std::size_t b = index_->max_elements_ * index_->size_data_per_element_;
    for (std::size_t i = 0; i < index_->cur_element_count; ++i)
      if (index_->element_levels_[i] > 0) b += index_->size_links_per_element_ * index_->element_levels_[i];
    b += index_->max_elements_ * (sizeof(void*) + sizeof(int));  // linkLists_ + element_levels_
    b += index_->label_lookup_.size() * 32;  // unordered_map node, estimated
    return b;
  }
  std::vector<std::string> configs() const override {
    std::vector<std::string> c;
    for (int ef : o_.ef_search) c.push_back("ef=" + std::to_string(ef));
    return c;
  }
  void set_config(std::size_t i) override { index_->setEf(std::size_t(o_.ef_search[i])); }
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* labels) const override {
    const int dims = int(*static_cast<std::size_t*>(space_->get_dist_func_param()));
    for (std::size_t i = 0; i < nq; ++i) {
      auto res = index_->searchKnn(q + i * dims, k);
      std::int64_t* out = labels + i * k;
      std::fill(out, out + k, -1);
      for (std::size_t j = res.size(); j-- > 0;) {
        out[j] = std::int64_t(res.top().second);
        res.pop();
      }
    }
  }

 private:
  IndexOptions o_;
  std::unique_ptr<hnswlib::InnerProductSpace> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};

}  // namespace

std::unique_ptr<BenchIndex> make_hnswlib(const IndexOptions& o) { return std::make_unique<HnswlibIndex>(o); }

}  // namespace troupe::vbench
