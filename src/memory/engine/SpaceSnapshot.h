// SpaceSnapshot: an immutable view of one space for searching: a base index (built from the
// segment file or the store), a small delta of vectors upserted since (scanned exactly), and the
// base ids masked by later upserts/removes. Writers derive a new snapshot and swap a shared_ptr
// (copy-on-write), so searches never wait for inserts. Every change carries a sequence number so a
// compaction built from an older snapshot can be rebased onto the current one.
// Thread-safety: immutable once published; share between threads freely.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "memory/index/VectorIndex.h"
#include "memory/index/VectorSet.h"

namespace troupe::memory {

class SpaceSnapshot {
 public:
  struct DeltaEntry {
    VectorId id = 0;
    std::uint64_t seq = 0;
    bool alive = true;
  };

  explicit SpaceSnapshot(int dims) : dims_(dims) {}

  int dims() const noexcept { return dims_; }
  bool loaded() const noexcept { return loaded_; }
  std::uint64_t seq() const noexcept { return seq_; }
  const VectorIndex* base() const noexcept { return base_.get(); }
  std::size_t size() const noexcept;  // live vectors (base minus masked plus alive delta)
  std::size_t delta_alive() const noexcept { return delta_alive_; }
  std::size_t masked() const noexcept { return masked_.size(); }  // changed ids since the base
  std::size_t memory_bytes() const noexcept;

  // New snapshots with a change applied; `vectors` has ids.size() * dims floats.
  std::shared_ptr<const SpaceSnapshot> with_upsert(std::span<const VectorId> ids,
                                                   std::span<const float> vectors) const;
  std::shared_ptr<const SpaceSnapshot> with_remove(std::span<const VectorId> ids) const;
  // Installs a loaded base holding `base_ids`.
  std::shared_ptr<const SpaceSnapshot> with_base(std::shared_ptr<const VectorIndex> base,
                                                 std::vector<VectorId> base_ids) const;
  // Drops the base (eviction); delta and masks stay so a reload is still correct.
  std::shared_ptr<const SpaceSnapshot> unloaded() const;
  // Installs `base`, built from `from` (an older snapshot of this space, all of its live vectors):
  // keeps only the changes made after `from`.
  std::shared_ptr<const SpaceSnapshot> rebased(std::shared_ptr<const VectorIndex> base,
                                               std::vector<VectorId> base_ids,
                                               const SpaceSnapshot& from) const;

  // Every live (id, row): input of a compaction.
  void export_live(std::vector<VectorId>& ids, std::vector<float>& rows) const;

  // Top-k over base and delta for nq queries, best first; requires loaded().
  void search(std::span<const float> queries, std::size_t nq, std::size_t k,
              std::vector<std::vector<Hit>>& out) const;

 private:
  bool in_base(VectorId id) const;
  void mask(VectorId id, std::uint64_t seq);
  int dims_;
  bool loaded_ = false;
  std::uint64_t seq_ = 0;
  std::shared_ptr<const VectorIndex> base_;
  std::shared_ptr<const std::vector<VectorId>> base_ids_;  // sorted
  std::vector<DeltaEntry> delta_;
  std::vector<float> delta_rows_;
  std::size_t delta_alive_ = 0;
  // id -> seq of its last upsert/remove; hides the id's row in the base (if it has one)
  std::unordered_map<VectorId, std::uint64_t> masked_;
  std::size_t masked_in_base_ = 0;
};

}  // namespace troupe::memory
