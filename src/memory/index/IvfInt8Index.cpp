#include "memory/index/IvfInt8Index.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <numeric>

#include "memory/index/Int8Batch.h"
#include "memory/index/Int8Rerank.h"
#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"

namespace troupe::memory {
namespace {

constexpr std::size_t kRowBlock = 256;   // code rows scored per kernel call (192 KiB at 768-d)
constexpr std::size_t kAssignBlock = 1024;

// Per-thread scratch, reused by every search on that thread (no allocation once warm).
struct Scratch {
  std::vector<std::int8_t> qcodes, gathered;
  std::vector<float> qscales, centroid_scores;
  std::vector<std::uint32_t> probes, bucket_off, bucket, next, order;
  std::vector<std::int32_t> dots;
  std::vector<TopK> coarse;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

IvfInt8Index::IvfInt8Index(std::shared_ptr<const VectorSet> data, const IndexParams& p)
    : data_(std::move(data)),
      d_(static_cast<std::size_t>(std::max(1, data_->dims()))),
      nprobe_(std::max(1, p.ivf_nprobe)),
      rerank_(std::max(1, p.int8_rerank)) {
  stride_ = (d_ + kernels::kInt8Stride - 1) / kernels::kInt8Stride * kernels::kInt8Stride;
}

Result<std::unique_ptr<IvfInt8Index>> IvfInt8Index::build(std::shared_ptr<const VectorSet> data,
                                                          const IndexParams& p) {
  const std::size_t n = data->size();
  std::unique_ptr<IvfInt8Index> idx(new IvfInt8Index(std::move(data), p));
  std::size_t nlist = p.ivf_nlist > 0 ? static_cast<std::size_t>(p.ivf_nlist)
                                      : static_cast<std::size_t>(std::lround(std::sqrt(double(n))));
  nlist = std::clamp<std::size_t>(nlist, 1, std::max<std::size_t>(1, n / 39));
  if (n > 0) {
    if (auto st = idx->train(nlist, p.seed); !st) return st.error();
  }
  idx->fill_lists();
  return idx;
}

Status IvfInt8Index::train(std::size_t nlist, std::uint64_t seed) {
  nlist_ = nlist;
  if (nlist == 1) {  // one list: every vector in it, the centroid is never consulted
    centroids_.assign(d_, 0.0f);
    return {};
  }
  try {
    faiss::ClusteringParameters cp;
    cp.niter = 20;
    cp.spherical = true;  // unit vectors, inner product
    cp.seed = static_cast<int>(seed & 0x7fffffff);
    cp.verbose = false;
    faiss::Clustering km(static_cast<int>(d_), static_cast<int>(nlist), cp);
    faiss::IndexFlatIP assign(static_cast<faiss::Index::idx_t>(d_));
    km.train(static_cast<faiss::Index::idx_t>(data_->size()), data_->rows(), assign);
    centroids_ = km.centroids;
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string("ivf-int8 k-means: ") + e.what());
  }
  return {};
}

void IvfInt8Index::fill_lists() {
  const std::size_t n = data_->size();
  std::vector<std::uint32_t> list_of(n, 0);
  if (nlist_ > 1) {
    std::vector<float> s(kAssignBlock * nlist_);
    for (std::size_t b = 0; b < n; b += kAssignBlock) {
      const std::size_t m = std::min(kAssignBlock, n - b);
      kernels::batch_ip(data_->row(b), m, centroids_.data(), nlist_, d_, s.data());
      for (std::size_t i = 0; i < m; ++i) {
        const float* r = s.data() + i * nlist_;
        list_of[b + i] = static_cast<std::uint32_t>(std::max_element(r, r + nlist_) - r);
      }
    }
  }
  offsets_.assign(nlist_ + 1, 0);
  for (std::uint32_t l : list_of) ++offsets_[l + 1];
  std::partial_sum(offsets_.begin(), offsets_.end(), offsets_.begin());
  std::vector<std::uint32_t> next(offsets_.begin(), offsets_.end() - (nlist_ > 0 ? 1 : 0));
  rows_.resize(n);
  for (std::size_t i = 0; i < n; ++i) rows_[next[list_of[i]]++] = static_cast<std::uint32_t>(i);
  codes_.assign(n * stride_, 0);
  scales_.resize(n);
  row_sums_.resize(n);
  for (std::size_t p = 0; p < n; ++p) {
    std::int8_t* c = codes_.data() + p * stride_;
    scales_[p] = kernels::quantize_i8(data_->row(rows_[p]), static_cast<std::size_t>(data_->dims()), c);
    row_sums_[p] = kernels::int8_row_sum(c, stride_);
  }
}

std::size_t IvfInt8Index::memory_bytes() const noexcept {
  return sizeof(*this) + codes_.capacity() + scales_.capacity() * sizeof(float) +
         row_sums_.capacity() * sizeof(std::int32_t) + rows_.capacity() * sizeof(std::uint32_t) +
         offsets_.capacity() * sizeof(std::uint32_t) + centroids_.capacity() * sizeof(float) +
         data_->owned_bytes();
}

void IvfInt8Index::search(std::span<const float> queries, std::size_t nq, std::size_t k,
                          std::vector<std::vector<Hit>>& out) const {
  search_with(queries, nq, k, SearchParams{}, out);
}

void IvfInt8Index::select_lists(const float* queries, std::size_t nq, std::size_t np,
                                std::vector<std::uint32_t>& probes) const {
  probes.resize(nq * np);
  if (np == nlist_) {  // every list: no centroid scores needed
    for (std::size_t q = 0; q < nq; ++q) std::iota(probes.begin() + q * np, probes.begin() + (q + 1) * np, 0u);
    return;
  }
  std::vector<float>& cs = scratch().centroid_scores;
  std::vector<std::uint32_t>& order = scratch().order;
  cs.resize(nq * nlist_);
  kernels::batch_ip(queries, nq, centroids_.data(), nlist_, d_, cs.data());
  order.resize(nlist_);
  for (std::size_t q = 0; q < nq; ++q) {
    const float* s = cs.data() + q * nlist_;
    std::iota(order.begin(), order.end(), 0u);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(np), order.end(),
                      [s](std::uint32_t a, std::uint32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
    std::copy(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(np), probes.begin() + q * np);
  }
}

void IvfInt8Index::search_with(std::span<const float> queries, std::size_t nq, std::size_t k,
                               const SearchParams& sp, std::vector<std::vector<Hit>>& out) const {
  out.assign(nq, {});
  const std::size_t n = size(), dims = d_;
  if (k == 0 || n == 0 || nq == 0) return;
  const std::size_t kk = std::min(k, n);
  const std::size_t cand = std::min(n, kk * static_cast<std::size_t>(rerank_));
  const std::size_t np = std::clamp<std::size_t>(
      static_cast<std::size_t>(sp.ivf_nprobe > 0 ? sp.ivf_nprobe : nprobe_), 1, nlist_);
  Scratch& s = scratch();
  s.qcodes.assign(nq * stride_, 0);
  s.qscales.resize(nq);
  for (std::size_t q = 0; q < nq; ++q)
    s.qscales[q] = kernels::quantize_i8(queries.data() + q * dims, dims, s.qcodes.data() + q * stride_);
  select_lists(queries.data(), nq, np, s.probes);

  // Bucket the queries by probed list (counting sort), so each list is read once per batch.
  s.bucket_off.assign(nlist_ + 1, 0);
  for (std::uint32_t l : s.probes) ++s.bucket_off[l + 1];
  std::partial_sum(s.bucket_off.begin(), s.bucket_off.end(), s.bucket_off.begin());
  s.bucket.resize(s.probes.size());
  s.next.assign(s.bucket_off.begin(), s.bucket_off.end() - 1);
  for (std::size_t q = 0; q < nq; ++q)
    for (std::size_t j = 0; j < np; ++j) s.bucket[s.next[s.probes[q * np + j]]++] = static_cast<std::uint32_t>(q);
  if (s.coarse.size() < nq) s.coarse.resize(nq, TopK(0));
  for (std::size_t q = 0; q < nq; ++q) s.coarse[q] = TopK(cand);

  for (std::size_t l = 0; l < nlist_; ++l) {
    const std::uint32_t qb = s.bucket_off[l], qe = s.bucket_off[l + 1];
    const std::uint32_t rb = offsets_[l], re = offsets_[l + 1];
    if (qb == qe || rb == re) continue;
    const std::size_t mq = qe - qb;
    const std::int8_t* qptr;
    if (mq == 1) {
      qptr = s.qcodes.data() + std::size_t(s.bucket[qb]) * stride_;
    } else {
      s.gathered.resize(mq * stride_);
      for (std::size_t i = 0; i < mq; ++i)
        std::copy_n(s.qcodes.data() + std::size_t(s.bucket[qb + i]) * stride_, stride_,
                    s.gathered.data() + i * stride_);
      qptr = s.gathered.data();
    }
    for (std::size_t b = rb; b < re; b += kRowBlock) {
      const std::size_t m = std::min<std::size_t>(kRowBlock, re - b);
      s.dots.resize(mq * m);
      kernels::batch_dot_i8(qptr, mq, codes_.data() + b * stride_, row_sums_.data() + b, m, stride_,
                            s.dots.data(), m);
      for (std::size_t i = 0; i < mq; ++i) {
        const std::uint32_t q = s.bucket[qb + i];
        keep_approx(s.coarse[q], s.dots.data() + i * m, scales_.data(), s.qscales[q], b, m);
      }
    }
  }
  // Candidates are positions in list order; rows_ maps them to rows of the float data.
  for (std::size_t q = 0; q < nq; ++q) {
    out[q] = rerank(s.coarse[q], *data_, queries.data() + q * dims, dims, kk,
                    [this](VectorId pos) { return static_cast<std::size_t>(rows_[pos]); });
  }
}

void IvfInt8Index::export_vectors(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  data_->append_to(ids, rows);
}

}  // namespace troupe::memory
