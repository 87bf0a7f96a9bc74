// VectorSet: n rows of `dims` float32 and their ids, either owned or viewing a memory-mapped
// segment file (which it keeps mapped). The storage under ExactIndex and Int8Index.
// Thread-safety: immutable after construction; share freely between threads.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "memory/VectorEngine.h"

namespace troupe::memory {

class VectorSet {
 public:
  VectorSet() = default;
  // Owned copy; rows.size() must be ids.size() * dims.
  VectorSet(int dims, std::vector<VectorId> ids, std::vector<float> rows);
  // View of external memory kept alive by `owner` (e.g. a MappedSegment).
  VectorSet(int dims, std::size_t n, const VectorId* ids, const float* rows,
            std::shared_ptr<const void> owner);

  int dims() const noexcept { return dims_; }
  std::size_t size() const noexcept { return n_; }
  const float* row(std::size_t i) const noexcept { return rows_ + i * static_cast<std::size_t>(dims_); }
  const float* rows() const noexcept { return rows_; }
  VectorId id(std::size_t i) const noexcept { return ids_[i]; }
  std::span<const VectorId> ids() const noexcept { return {ids_, n_}; }
  bool owned() const noexcept { return !owner_; }
  // Appends every id and row to ids / rows (VectorIndex::export_vectors of the indexes on a set).
  void append_to(std::vector<VectorId>& ids, std::vector<float>& rows) const;
  std::size_t owned_bytes() const noexcept;

 private:
  int dims_ = 0;
  std::size_t n_ = 0;
  std::vector<VectorId> own_ids_;
  std::vector<float> own_rows_;
  const VectorId* ids_ = nullptr;
  const float* rows_ = nullptr;
  std::shared_ptr<const void> owner_;
};

}  // namespace troupe::memory
