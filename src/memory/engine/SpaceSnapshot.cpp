#include "memory/engine/SpaceSnapshot.h"

#include <algorithm>
#include <limits>

#include "memory/index/Kernels.h"
#include "memory/index/TopK.h"

namespace troupe::memory {

bool SpaceSnapshot::in_base(VectorId id) const {
  return base_ids_ && std::binary_search(base_ids_->begin(), base_ids_->end(), id);
}

std::size_t SpaceSnapshot::size() const noexcept {
  const std::size_t b = base_ ? base_->size() : 0;
  return b - std::min(b, masked_in_base_) + delta_alive_;
}

std::size_t SpaceSnapshot::memory_bytes() const noexcept {
  return (base_ ? base_->memory_bytes() : 0) +
         (base_ids_ ? base_ids_->capacity() * sizeof(VectorId) : 0) +
         delta_rows_.capacity() * sizeof(float) + delta_.capacity() * sizeof(DeltaEntry) +
         masked_.size() * 32;
}

std::shared_ptr<const SpaceSnapshot> SpaceSnapshot::with_upsert(std::span<const VectorId> ids,
                                                                std::span<const float> vectors) const {
  auto s = std::make_shared<SpaceSnapshot>(*this);
  const std::size_t d = static_cast<std::size_t>(dims_);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const VectorId id = ids[i];
    const std::uint64_t seq = ++s->seq_;
    for (auto& e : s->delta_)
      if (e.id == id && e.alive) {
        e.alive = false;
        --s->delta_alive_;
      }
    s->mask(id, seq);
    s->delta_.push_back({id, seq, true});
    s->delta_rows_.insert(s->delta_rows_.end(), vectors.begin() + i * d, vectors.begin() + (i + 1) * d);
    ++s->delta_alive_;
  }
  return s;
}

std::shared_ptr<const SpaceSnapshot> SpaceSnapshot::with_remove(std::span<const VectorId> ids) const {
  auto s = std::make_shared<SpaceSnapshot>(*this);
  for (VectorId id : ids) {
    const std::uint64_t seq = ++s->seq_;
    for (auto& e : s->delta_)
      if (e.id == id && e.alive) {
        e.alive = false;
        --s->delta_alive_;
      }
    s->mask(id, seq);
  }
  return s;
}

void SpaceSnapshot::mask(VectorId id, std::uint64_t seq) {
  auto [it, fresh] = masked_.insert_or_assign(id, seq);
  (void)it;
  if (fresh && in_base(id)) ++masked_in_base_;
}

std::shared_ptr<const SpaceSnapshot> SpaceSnapshot::with_base(std::shared_ptr<const VectorIndex> base,
                                                              std::vector<VectorId> ids) const {
  auto s = std::make_shared<SpaceSnapshot>(*this);
  s->base_ = std::move(base);
  std::sort(ids.begin(), ids.end());
  s->base_ids_ = std::make_shared<const std::vector<VectorId>>(std::move(ids));
  s->loaded_ = true;
  s->masked_in_base_ = 0;
  for (auto& [id, seq] : s->masked_) s->masked_in_base_ += s->in_base(id) ? 1 : 0;
  return s;
}

std::shared_ptr<const SpaceSnapshot> SpaceSnapshot::unloaded() const {
  auto s = std::make_shared<SpaceSnapshot>(*this);
  s->base_.reset();
  s->base_ids_.reset();
  s->masked_in_base_ = 0;
  s->loaded_ = false;
  return s;
}

std::shared_ptr<const SpaceSnapshot> SpaceSnapshot::rebased(std::shared_ptr<const VectorIndex> base,
                                                            std::vector<VectorId> base_ids,
                                                            const SpaceSnapshot& from) const {
  auto s = std::make_shared<SpaceSnapshot>(dims_);
  s->seq_ = seq_;
  const std::size_t d = static_cast<std::size_t>(dims_);
  for (std::size_t i = 0; i < delta_.size(); ++i) {
    if (delta_[i].seq <= from.seq_ || !delta_[i].alive) continue;
    s->delta_.push_back(delta_[i]);
    s->delta_rows_.insert(s->delta_rows_.end(), delta_rows_.begin() + i * d,
                          delta_rows_.begin() + (i + 1) * d);
    ++s->delta_alive_;
  }
  // Every id changed after `from` (upserted or removed, wherever it lived) is masked.
  for (auto& [id, seq] : masked_)
    if (seq > from.seq_) s->masked_[id] = seq;
  return s->with_base(std::move(base), std::move(base_ids));
}

void SpaceSnapshot::export_live(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  const std::size_t d = static_cast<std::size_t>(dims_);
  if (base_) {
    std::vector<VectorId> bi;
    std::vector<float> br;
    base_->export_vectors(bi, br);
    for (std::size_t i = 0; i < bi.size(); ++i) {
      if (masked_.count(bi[i])) continue;
      ids.push_back(bi[i]);
      rows.insert(rows.end(), br.begin() + i * d, br.begin() + (i + 1) * d);
    }
  }
  for (std::size_t i = 0; i < delta_.size(); ++i) {
    if (!delta_[i].alive) continue;
    ids.push_back(delta_[i].id);
    rows.insert(rows.end(), delta_rows_.begin() + i * d, delta_rows_.begin() + (i + 1) * d);
  }
}

void SpaceSnapshot::search(std::span<const float> queries, std::size_t nq, std::size_t k,
                           std::vector<std::vector<Hit>>& out) const {
  out.assign(nq, {});
  if (k == 0 || nq == 0) return;
  std::vector<std::vector<Hit>> base_hits;
  if (base_ && base_->size() > 0) {
    base_->search(queries, nq, k + masked_in_base_, base_hits);
  } else {
    base_hits.assign(nq, {});
  }
  const std::size_t d = static_cast<std::size_t>(dims_), nd = delta_.size();
  std::vector<float> scores;
  if (delta_alive_ > 0) {
    scores.resize(nq * nd);
    kernels::batch_ip(queries.data(), nq, delta_rows_.data(), nd, d, scores.data());
  }
  for (std::size_t q = 0; q < nq; ++q) {
    TopK top(k);
    for (const Hit& h : base_hits[q])
      if (!masked_.count(h.id)) top.push(h.id, h.score);
    if (delta_alive_ > 0)
      for (std::size_t j = 0; j < nd; ++j)
        if (delta_[j].alive) top.push(delta_[j].id, scores[q * nd + j]);
    out[q] = top.take_sorted();
  }
}

}  // namespace troupe::memory
