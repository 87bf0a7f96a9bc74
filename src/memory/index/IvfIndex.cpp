#include "memory/index/IvfIndex.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>

#include <algorithm>
#include <cmath>
#include <exception>

#include "memory/index/TopK.h"

namespace troupe::memory {

struct IvfIndex::Impl {
  std::unique_ptr<faiss::IndexFlatIP> quantizer;
  std::unique_ptr<faiss::IndexIVFFlat> ivf;
  std::size_t nprobe = 1;
};

IvfIndex::IvfIndex(std::unique_ptr<Impl> impl, int dims, std::size_t n)
    : impl_(std::move(impl)), dims_(dims), n_(n) {}
IvfIndex::~IvfIndex() = default;

Result<std::unique_ptr<IvfIndex>> IvfIndex::build(const VectorSet& data, const IndexParams& p) {
  const std::size_t n = data.size();
  const int d = std::max(1, data.dims());
  std::size_t nlist = p.ivf_nlist > 0 ? static_cast<std::size_t>(p.ivf_nlist)
                                      : static_cast<std::size_t>(4 * std::sqrt(double(n)));
  // k-means needs several points per centroid; tiny spaces get one list (an exact scan).
  nlist = std::clamp<std::size_t>(nlist, 1, std::max<std::size_t>(1, n / 39));
  auto impl = std::make_unique<Impl>();
  try {
    impl->quantizer = std::make_unique<faiss::IndexFlatIP>(d);
    impl->ivf = std::make_unique<faiss::IndexIVFFlat>(impl->quantizer.get(), d, nlist,
                                                      faiss::METRIC_INNER_PRODUCT);
    impl->ivf->cp.seed = static_cast<int>(p.seed);
    impl->ivf->verbose = false;
    if (n > 0) {
      impl->ivf->train(static_cast<faiss::Index::idx_t>(n), data.rows());
      std::vector<faiss::Index::idx_t> ids(data.ids().begin(), data.ids().end());
      impl->ivf->add_with_ids(static_cast<faiss::Index::idx_t>(n), data.rows(), ids.data());
    }
    impl->nprobe = static_cast<std::size_t>(std::clamp(p.ivf_nprobe, 1, static_cast<int>(nlist)));
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string("ivf build: ") + e.what());
  }
  return std::unique_ptr<IvfIndex>(new IvfIndex(std::move(impl), data.dims(), n));
}

int IvfIndex::nlist() const noexcept { return static_cast<int>(impl_->ivf->nlist); }

std::size_t IvfIndex::memory_bytes() const noexcept {
  return sizeof(*this) + n_ * (static_cast<std::size_t>(dims_) * sizeof(float) + sizeof(faiss::Index::idx_t)) +
         impl_->ivf->nlist * static_cast<std::size_t>(dims_) * sizeof(float);
}

void IvfIndex::search(std::span<const float> queries, std::size_t nq, std::size_t k,
                      std::vector<std::vector<Hit>>& out) const {
  search_with(queries, nq, k, SearchParams{}, out);
}

void IvfIndex::search_with(std::span<const float> queries, std::size_t nq, std::size_t k,
                           const SearchParams& params, std::vector<std::vector<Hit>>& out) const {
  out.assign(nq, {});
  if (k == 0 || n_ == 0 || nq == 0) return;
  const std::size_t kk = std::min(k, n_);
  std::vector<float> dist(nq * kk);
  std::vector<faiss::Index::idx_t> labels(nq * kk);
  faiss::SearchParametersIVF sp;
  sp.nprobe = params.ivf_nprobe > 0
                  ? static_cast<std::size_t>(std::clamp<std::size_t>(
                        static_cast<std::size_t>(params.ivf_nprobe), 1, impl_->ivf->nlist))
                  : impl_->nprobe;
  try {
    impl_->ivf->search(static_cast<faiss::Index::idx_t>(nq), queries.data(), static_cast<faiss::Index::idx_t>(kk),
                       dist.data(), labels.data(), &sp);
  } catch (const std::exception&) {
    return;  // FAISS throws only on invalid arguments or allocation failure
  }
  for (std::size_t q = 0; q < nq; ++q) {
    TopK top(kk);
    for (std::size_t j = 0; j < kk; ++j)
      if (labels[q * kk + j] >= 0)
        top.push(static_cast<VectorId>(labels[q * kk + j]), dist[q * kk + j]);
    out[q] = top.take_sorted();
  }
}

void IvfIndex::export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  const auto* il = impl_->ivf->invlists;
  for (std::size_t l = 0; l < impl_->ivf->nlist; ++l) {
    const std::size_t m = il->list_size(l);
    if (m == 0) continue;
    faiss::InvertedLists::ScopedIds lid(il, l);
    faiss::InvertedLists::ScopedCodes codes(il, l);
    const auto* f = reinterpret_cast<const float*>(codes.get());
    for (std::size_t i = 0; i < m; ++i) ids.push_back(static_cast<VectorId>(lid[i]));
    rows.insert(rows.end(), f, f + m * static_cast<std::size_t>(dims_));
  }
}

}  // namespace troupe::memory
