#include "memory/index/VectorSet.h"

#include <cassert>

namespace troupe::memory {

VectorSet::VectorSet(int dims, std::vector<VectorId> ids, std::vector<float> rows)
    : dims_(dims), n_(ids.size()), own_ids_(std::move(ids)), own_rows_(std::move(rows)) {
  assert(own_rows_.size() == n_ * static_cast<std::size_t>(dims_));
  ids_ = own_ids_.data();
  rows_ = own_rows_.data();
}

VectorSet::VectorSet(int dims, std::size_t n, const VectorId* ids, const float* rows,
                     std::shared_ptr<const void> owner)
    : dims_(dims), n_(n), ids_(ids), rows_(rows), owner_(std::move(owner)) {}

void VectorSet::append_to(std::vector<VectorId>& ids, std::vector<float>& rows) const {
  ids.insert(ids.end(), ids_, ids_ + n_);
  rows.insert(rows.end(), rows_, rows_ + n_ * static_cast<std::size_t>(dims_));
}

std::size_t VectorSet::owned_bytes() const noexcept {
  return own_ids_.capacity() * sizeof(VectorId) + own_rows_.capacity() * sizeof(float);
}

}  // namespace troupe::memory
