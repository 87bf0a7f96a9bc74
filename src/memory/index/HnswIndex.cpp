#include "memory/index/HnswIndex.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <exception>

#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"

namespace troupe::memory {
namespace {

struct DistParam {
  std::size_t dims;
  kernels::DotF32Fn dot;  // resolved once: no dispatch per distance
};

float ip_distance(const void* a, const void* b, const void* param) {
  const auto* p = static_cast<const DistParam*>(param);
  return 1.0f - p->dot(static_cast<const float*>(a), static_cast<const float*>(b), p->dims);
}

class DotSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit DotSpace(std::size_t dims) : param_{dims, kernels::best_dot_f32()} {}
  size_t get_data_size() override { return param_.dims * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return ip_distance; }
  void* get_dist_func_param() override { return &param_; }

 private:
  DistParam param_;
};

}  // namespace

struct HnswIndex::Impl {
  explicit Impl(std::size_t dims) : space(dims) {}
  DotSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  std::size_t elem_bytes = 0;
};

HnswIndex::HnswIndex(std::unique_ptr<Impl> impl, int dims, std::size_t n)
    : impl_(std::move(impl)), dims_(dims), n_(n) {}
HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::build(const VectorSet& data, const IndexParams& p) {
  const std::size_t n = data.size(), d = static_cast<std::size_t>(data.dims());
  auto impl = std::make_unique<Impl>(d);
  try {
    const std::size_t m = static_cast<std::size_t>(std::clamp(p.hnsw_m, 4, 64));
    impl->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &impl->space, std::max<std::size_t>(n, 1), m,
        static_cast<std::size_t>(std::clamp(p.hnsw_ef_construction, 8, 2000)),
        static_cast<std::size_t>(p.seed));
    impl->graph->setEf(static_cast<std::size_t>(std::clamp(p.hnsw_ef_search, 1, 4096)));
    // Level-0 node (links + vector + label), its lock, level, label map entry and the
    // amortised upper-level links.
    impl->elem_bytes = impl->graph->size_data_per_element_ + sizeof(std::mutex) + sizeof(int) +
                       48 + impl->graph->size_links_per_element_ / m + sizeof(void*);
    for (std::size_t i = 0; i < n; ++i) impl->graph->addPoint(data.row(i), data.id(i));
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string("hnsw build: ") + e.what());
  }
  return std::unique_ptr<HnswIndex>(new HnswIndex(std::move(impl), data.dims(), n));
}

std::size_t HnswIndex::memory_bytes() const noexcept {
  return sizeof(*this) + n_ * impl_->elem_bytes;
}

void HnswIndex::search(std::span<const float> queries, std::size_t nq, std::size_t k,
                       std::vector<std::vector<Hit>>& out) const {
  out.assign(nq, {});
  if (k == 0 || n_ == 0) return;
  const std::size_t d = static_cast<std::size_t>(dims_);
  for (std::size_t q = 0; q < nq; ++q) {
    try {
      auto pq = impl_->graph->searchKnn(queries.data() + q * d, std::min(k, n_));
      TopK top(std::min(k, n_));
      while (!pq.empty()) {
        top.push(pq.top().second, 1.0f - pq.top().first);
        pq.pop();
      }
      out[q] = top.take_sorted();
    } catch (const std::exception&) {
      out[q].clear();  // hnswlib only throws on allocation failure; an empty result degrades
    }
  }
}

void HnswIndex::export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  const std::size_t d = static_cast<std::size_t>(dims_);
  auto& g = *impl_->graph;
  for (std::size_t i = 0; i < g.cur_element_count; ++i) {
    const auto* v = reinterpret_cast<const float*>(g.getDataByInternalId(static_cast<hnswlib::tableint>(i)));
    ids.push_back(g.getExternalLabel(static_cast<hnswlib::tableint>(i)));
    rows.insert(rows.end(), v, v + d);
  }
}

}  // namespace troupe::memory
