// TroupeIndex: adapts Troupe's own indexes (src/memory/index, built through IndexFactory) to the
// benchmark. Batched settings pass a micro-batch of queries to one search() call, as the engine
// does with concurrent queries. HNSW ef and IVF nprobe are per-search settings (SearchParams):
// one build, every listed value searched on it.
// Without the index sources (TROUPE_VBENCH_INDEX undefined) it provides nothing.
// Thread-safety: see BenchIndex.h.
#include "BenchIndex.h"

#ifdef TROUPE_VBENCH_INDEX
#include <chrono>
#include <numeric>
#include <stdexcept>

#include "memory/index/IndexFactory.h"
#include "memory/index/Int8Batch.h"
#include "memory/index/Kernels.h"
#endif

namespace troupe::vbench {

#ifndef TROUPE_VBENCH_INDEX
std::unique_ptr<BenchIndex> make_troupe(const std::string&, const IndexOptions&) { return nullptr; }
std::string troupe_info() { return "Troupe indexes not built in"; }
#else
namespace {

namespace tm = troupe::memory;

class TroupeIndex final : public BenchIndex {
 public:
  TroupeIndex(tm::IndexKind kind, const IndexOptions& o, bool int8 = false)
      : kind_(kind), o_(o), int8_(int8) {}

  std::string name() const override {
    switch (kind_) {
      case tm::IndexKind::exact: return "Troupe exact float32";
      case tm::IndexKind::exact_int8: return "Troupe exact-int8 (rerank " + std::to_string(params_.int8_rerank) + ")";
      case tm::IndexKind::hnsw:
        return std::string(int8_ ? "Troupe HNSW-int8" : "Troupe HNSW") + " M=" + std::to_string(o_.hnsw_m) + " efC=" + std::to_string(o_.hnsw_ef_construction);
      case tm::IndexKind::ivf: return "Troupe IVF-Flat nlist=" + std::to_string(params_.ivf_nlist);
      case tm::IndexKind::ivf_int8: return "Troupe IVF-int8 nlist=" + std::to_string(params_.ivf_nlist) + " rerank " + std::to_string(params_.int8_rerank);
    }
    return "Troupe ?";
  }

  void build(const Dataset& d, int threads) override {
    dims_ = d.dims;
    std::vector<tm::VectorId> ids(d.n);
    std::iota(ids.begin(), ids.end(), tm::VectorId{0});
    if (kind_ == tm::IndexKind::exact_int8 || kind_ == tm::IndexKind::ivf_int8 || int8_) {
      // As in the server: the float rows stay in the (mapped) segment, outside the index's
      // resident bytes; here they are the dataset's rows.
      ids_ = std::move(ids);
      data_ = std::make_shared<const tm::VectorSet>(d.dims, d.n, ids_.data(), d.base.data(),
                                                    std::shared_ptr<const void>(&d, [](const void*) {}));
    } else {
      data_ = std::make_shared<const tm::VectorSet>(d.dims, std::move(ids), d.base);
    }
    params_.hnsw_m = o_.hnsw_m;
    params_.hnsw_ef_construction = o_.hnsw_ef_construction;
    params_.ivf_nlist = o_.ivf_nlist > 0 ? o_.ivf_nlist : default_nlist(d.n);
    params_.build_threads = threads;
    params_.int8_rerank = o_.troupe_rerank;
    params_.hnsw_int8 = int8_;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = tm::IndexFactory::build(kind_, data_, params_);
    if (!r) throw std::runtime_error("Troupe index build failed: " + r.error().message);
    build_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    index_ = std::move(*r);
  }
  double first_build_seconds() const override { return build_s_; }
  std::size_t memory_bytes() const override { return index_->memory_bytes(); }

  std::vector<std::string> configs() const override {
    std::vector<std::string> c;
    for (int v : values())
      c.push_back(kind_ == tm::IndexKind::hnsw ? "ef=" + std::to_string(v)
                  : is_ivf() ? "nprobe=" + std::to_string(v) : "-");
    return c;
  }
  void set_config(std::size_t i) override {
    sp_ = {};
    if (kind_ == tm::IndexKind::hnsw) sp_.hnsw_ef = values().at(i);
    if (is_ivf()) sp_.ivf_nprobe = values().at(i);
  }
  std::vector<std::size_t> batch_sizes() const override {
    std::vector<std::size_t> b{1};
    if (kind_ == tm::IndexKind::exact || kind_ == tm::IndexKind::exact_int8 ||
        kind_ == tm::IndexKind::ivf_int8)
      b.insert(b.end(), o_.batches.begin(), o_.batches.end());
    return b;
  }
  void search(const float* q, std::size_t nq, std::size_t k, std::int64_t* labels) const override {
    std::vector<std::vector<tm::Hit>> out;
    index_->search_with(std::span<const float>(q, nq * std::size_t(dims_)), nq, k, sp_, out);
    for (std::size_t i = 0; i < nq; ++i)
      for (std::size_t j = 0; j < k; ++j)
        labels[i * k + j] = i < out.size() && j < out[i].size() ? std::int64_t(out[i][j].id) : -1;
  }

 private:
  bool is_ivf() const { return kind_ == tm::IndexKind::ivf || kind_ == tm::IndexKind::ivf_int8; }
  std::vector<int> values() const {
    if (kind_ == tm::IndexKind::hnsw) return o_.troupe_ef;
    if (is_ivf()) return o_.troupe_nprobe;
    return {0};
  }

  tm::IndexKind kind_;
  IndexOptions o_;
  bool int8_ = false;  // HNSW over int8 codes, float re-rank
  tm::IndexParams params_;
  int dims_ = 0;
  std::vector<tm::VectorId> ids_;
  std::shared_ptr<const tm::VectorSet> data_;
  std::shared_ptr<const tm::VectorIndex> index_;
  tm::SearchParams sp_;
  double build_s_ = -1;
};

}  // namespace

std::unique_ptr<BenchIndex> make_troupe(const std::string& kind, const IndexOptions& o) {
  if (kind == "hnsw-int8") return std::make_unique<TroupeIndex>(tm::IndexKind::hnsw, o, true);
  const auto k = tm::parse_index_kind(kind);
  if (!k) return nullptr;
  return std::make_unique<TroupeIndex>(*k, o);
}

std::string troupe_info() {
  return std::string("Troupe kernels: ") + tm::kernels::simd_level() + ", int8 batch " +
         tm::kernels::batch_dot_i8_level() + ", " + tm::kernels::configure_openblas();
}
#endif

}  // namespace troupe::vbench
