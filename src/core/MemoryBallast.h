// MemoryBallast: a block of real, resident memory the operator can hold on purpose to rehearse the
// memory budget (the admin-only PUT /debug/memory/ballast). The block is mapped straight from the
// kernel (mmap), every page is written so it counts in RSS, and resizing unmaps the old block, so
// the memory is given back at once whatever the allocator. Bounded by kMaxBytes.
// Thread-safety: all members are safe to call from any thread (one mutex).
#pragma once

#include <cstdint>
#include <mutex>

#include "core/Result.h"

namespace troupe {

class MemoryBallast {
 public:
  static constexpr std::uint64_t kMaxBytes = 4ull << 30;

  MemoryBallast() = default;
  ~MemoryBallast();
  MemoryBallast(const MemoryBallast&) = delete;
  MemoryBallast& operator=(const MemoryBallast&) = delete;

  // Holds exactly `bytes` (0 releases everything). too_large above kMaxBytes; unavailable when the
  // kernel refuses the mapping (the previous block is released either way).
  Status resize(std::uint64_t bytes);
  std::uint64_t bytes() const;

 private:
  void release_locked();
  mutable std::mutex mu_;
  void* block_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace troupe
