#include "memory/index/HnswIndex.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <mutex>
#include <string>
#include <system_error>
#include <exception>
#include <thread>
#include <vector>

#include "memory/index/Int8Batch.h"
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

// int8 elements: `stride` code bytes (zero padded to 64) followed by the float scale.
class I8Space final : public hnswlib::SpaceInterface<float> {
 public:
  explicit I8Space(std::size_t dims)
      : stride_((dims + kernels::kInt8Stride - 1) / kernels::kInt8Stride * kernels::kInt8Stride),
        dist_(kernels::best_elem_distance_i8()) {}
  size_t get_data_size() override { return stride_ + sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return dist_; }
  void* get_dist_func_param() override { return &stride_; }
  std::size_t stride() const noexcept { return stride_; }

 private:
  std::size_t stride_;
  kernels::ElemDistI8Fn dist_;
};

// Writes the int8 element of a float row into out (get_data_size() bytes).
void encode_i8(const float* row, std::size_t dims, std::size_t stride, std::vector<std::int8_t>& out) {
  out.assign(stride + sizeof(float), 0);
  const float scale = kernels::quantize_i8(row, dims, out.data());
  std::memcpy(out.data() + stride, &scale, sizeof scale);
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

// 0 = one per hardware thread; never more than 16, nor more than one per 256 rows.
std::size_t build_thread_count(int wanted, std::size_t n) {
  std::size_t t = wanted > 0 ? static_cast<std::size_t>(wanted)
                             : std::max(1u, std::thread::hardware_concurrency());
  t = std::min<std::size_t>({t, 16, std::max<std::size_t>(1, n / 256)});
  return std::max<std::size_t>(1, t);
}

}  // namespace

struct HnswIndex::Impl {
  explicit Impl(std::size_t dims) : space(dims), i8space(dims) {}
  DotSpace space;
  I8Space i8space;
  std::shared_ptr<const VectorSet> data;  // int8 mode: the float rows for re-ranking
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  std::size_t elem_bytes = 0;
  std::size_t ef = 64;  // default candidate list size (IndexParams::hnsw_ef_search)
};

HnswIndex::HnswIndex(std::unique_ptr<Impl> impl, int dims, std::size_t n)
    : impl_(std::move(impl)), dims_(dims), n_(n) {}
HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::build(const VectorSet& data, const IndexParams& p) {
  if (!p.hnsw_int8) return build_impl(data, nullptr, p);
  auto copy = std::make_shared<const VectorSet>(
      data.dims(), std::vector<VectorId>(data.ids().begin(), data.ids().end()),
      std::vector<float>(data.rows(), data.rows() + data.size() * static_cast<std::size_t>(data.dims())));
  return build_impl(*copy, copy, p);
}

Result<std::unique_ptr<HnswIndex>> HnswIndex::build(std::shared_ptr<const VectorSet> data,
                                                    const IndexParams& p) {
  const VectorSet& ref = *data;
  return build_impl(ref, p.hnsw_int8 ? std::move(data) : nullptr, p);
}

Result<std::unique_ptr<HnswIndex>> HnswIndex::build_impl(const VectorSet& data,
                                                         std::shared_ptr<const VectorSet> keep,
                                                         const IndexParams& p) {
  const std::size_t n = data.size(), d = static_cast<std::size_t>(data.dims());
  auto impl = std::make_unique<Impl>(d);
  impl->data = std::move(keep);
  const bool i8 = impl->data != nullptr;
  const std::size_t stride = impl->i8space.stride();
  try {
    const std::size_t m = static_cast<std::size_t>(std::clamp(p.hnsw_m, 4, 64));
    hnswlib::SpaceInterface<float>* space = &impl->space;
    if (i8) space = &impl->i8space;
    impl->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        space, std::max<std::size_t>(n, 1), m,
        static_cast<std::size_t>(std::clamp(p.hnsw_ef_construction, 8, 2000)),
        static_cast<std::size_t>(p.seed));
    // The graph's own ef stays 1: every search asks for max(k, ef) candidates and keeps k, so
    // ef is a per-call setting and concurrent searches with different ef never interfere.
    impl->graph->setEf(1);
    impl->ef = static_cast<std::size_t>(std::clamp(p.hnsw_ef_search, 1, 4096));
    // Level-0 node (links + vector + label), its lock, level, label map entry and the
    // amortised upper-level links.
    impl->elem_bytes = impl->graph->size_data_per_element_ + sizeof(std::mutex) + sizeof(int) +
                       48 + impl->graph->size_links_per_element_ / m + sizeof(void*);
    // hnswlib's addPoint is safe to call concurrently: threads take rows from a shared counter.
    // The first row is inserted alone so that the entry point exists before the others.
    // int8 mode: elements are codes + scale and labels are row numbers (ids at re-rank).
    auto add = [&](std::size_t i, std::vector<std::int8_t>& buf) {
      if (!i8) return impl->graph->addPoint(data.row(i), data.id(i));
      encode_i8(data.row(i), d, stride, buf);
      impl->graph->addPoint(buf.data(), i);
    };
    std::vector<std::int8_t> first;
    if (n > 0) add(0, first);
    std::atomic<std::size_t> next{1};
    std::atomic<bool> failed{false};
    std::string failure;
    std::mutex failure_mu;
    auto worker = [&] {
      try {
        std::vector<std::int8_t> buf;
        for (std::size_t i = next++; i < n && !failed; i = next++) add(i, buf);
      } catch (const std::exception& e) {
        std::lock_guard lock(failure_mu);
        failure = e.what();
        failed = true;
      }
    };
    const std::size_t threads = build_thread_count(p.build_threads, n);
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) {
      try {
        pool.emplace_back(worker);
      } catch (const std::system_error&) {
        break;  // no more threads: the ones started (and this one) finish the work
      }
    }
    worker();
    for (auto& t : pool) t.join();
    if (failed) return make_error(Errc::internal, "hnsw build: " + failure);
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string("hnsw build: ") + e.what());
  }
  return std::unique_ptr<HnswIndex>(new HnswIndex(std::move(impl), data.dims(), n));
}

std::size_t HnswIndex::memory_bytes() const noexcept {
  return sizeof(*this) + n_ * impl_->elem_bytes + (impl_->data ? impl_->data->owned_bytes() : 0);
}

void HnswIndex::search(std::span<const float> queries, std::size_t nq, std::size_t k,
                       std::vector<std::vector<Hit>>& out) const {
  search_with(queries, nq, k, SearchParams{}, out);
}

void HnswIndex::search_with(std::span<const float> queries, std::size_t nq, std::size_t k,
                            const SearchParams& sp, std::vector<std::vector<Hit>>& out) const {
  out.assign(nq, {});
  if (k == 0 || n_ == 0) return;
  const std::size_t d = static_cast<std::size_t>(dims_);
  const std::size_t ef =
      sp.hnsw_ef > 0 ? static_cast<std::size_t>(std::clamp(sp.hnsw_ef, 1, 4096)) : impl_->ef;
  const std::size_t want = std::max(std::min(k, n_), ef);
  if (impl_->data) {
    search_i8(queries, nq, k, want, out);
    return;
  }
  for (std::size_t q = 0; q < nq; ++q) {
    try {
      auto pq = impl_->graph->searchKnn(queries.data() + q * d, want);
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

void HnswIndex::search_i8(std::span<const float> queries, std::size_t nq, std::size_t k,
                          std::size_t want, std::vector<std::vector<Hit>>& out) const {
  const std::size_t d = static_cast<std::size_t>(dims_);
  const VectorSet& rows = *impl_->data;
  std::vector<std::int8_t> buf;
  for (std::size_t q = 0; q < nq; ++q) {
    const float* qv = queries.data() + q * d;
    try {
      encode_i8(qv, d, impl_->i8space.stride(), buf);
      auto pq = impl_->graph->searchKnn(buf.data(), want);
      TopK top(std::min(k, n_));
      for (; !pq.empty(); pq.pop()) {
        const std::size_t r = pq.top().second;
        top.push(rows.id(r), kernels::dot_f32(qv, rows.row(r), d));
      }
      out[q] = top.take_sorted();
    } catch (const std::exception&) {
      out[q].clear();
    }
  }
}

void HnswIndex::export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  const std::size_t d = static_cast<std::size_t>(dims_);
  if (impl_->data) {
    impl_->data->append_to(ids, rows);
    return;
  }
  auto& g = *impl_->graph;
  for (std::size_t i = 0; i < g.cur_element_count; ++i) {
    const auto* v = reinterpret_cast<const float*>(g.getDataByInternalId(static_cast<hnswlib::tableint>(i)));
    ids.push_back(g.getExternalLabel(static_cast<hnswlib::tableint>(i)));
    rows.insert(rows.end(), v, v + d);
  }
}

}  // namespace troupe::memory
