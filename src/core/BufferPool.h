// BufferPool: a bounded free list of reusable byte buffers. A std::string handed back keeps its
// capacity, so the next acquire() can fill it without touching the heap (the sync.Pool lesson).
// Buffers above `max_capacity` and anything beyond `max_buffers` are freed instead of kept, so
// the pool never holds more than max_buffers x max_capacity bytes. hits()/misses() count acquires
// served from the pool or not, for the metrics (troupe_pool_*).
// Thread-safety: every member may be called from any thread (one short mutex section each).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace troupe {

class BufferPool {
 public:
  BufferPool(std::size_t max_buffers, std::size_t max_capacity);
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // An empty buffer; from the pool (with its capacity) when one is free.
  std::string acquire();
  // Gives a buffer back; it is kept when there is room and its capacity is within bounds.
  void release(std::string&& buf) noexcept;
  // Moves up to `n` pooled buffers (emptied) to the back of `out`; returns how many. For callers
  // that keep their own per-thread cache; not counted in hits()/misses().
  std::size_t take(std::vector<std::string>& out, std::size_t n);
  // Gives back the last `n` buffers of `in` (kept while there is room and within bounds, freed
  // otherwise) and removes them from `in`.
  void give(std::vector<std::string>& in, std::size_t n) noexcept;
  // Frees every pooled buffer (memory pressure).
  void trim();

  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  std::size_t size() const;

 private:
  const std::size_t max_buffers_;
  const std::size_t max_capacity_;
  mutable std::mutex mu_;
  std::vector<std::string> free_;  // guarded by mu_
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace troupe
