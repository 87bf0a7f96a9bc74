// EventPool: recycles published events. make() places the event and its shared_ptr control
// block in one pooled block and fills its JSON into a pooled buffer; when the last reference
// goes, the buffer (with its capacity) and the block go back to their free lists. In steady state
// publishing an event then costs no heap allocation. Each thread keeps a small cache of blocks
// and buffers (no lock, no shared cache line); caches exchange batches with the process-wide
// depot, which is bounded, as are the caches. Hit/miss counts are kept per thread and summed for
// the metrics (troupe_pool_*).
// Thread-safety: any thread; events are made on one thread and often released on another.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "core/BufferPool.h"
#include "sync/Event.h"

namespace troupe::sync {

class EventPool {
 public:
  // The process-wide pool (never destroyed: events may outlive static destruction order).
  static EventPool& instance();

  // A new, empty event whose json is a pooled buffer (capacity from an earlier event).
  std::shared_ptr<Event> make();

  // Acquires served from a free list (hit) or the heap (miss), over all threads.
  std::uint64_t block_hits() const { return total(kBlockHit); }
  std::uint64_t block_misses() const { return total(kBlockMiss); }
  std::uint64_t buffer_hits() const { return total(kBufferHit); }
  std::uint64_t buffer_misses() const { return total(kBufferMiss); }
  // Items idle in the depot (each thread's cache holds at most kThreadCache more of each).
  std::size_t free_blocks() const;
  std::size_t free_buffers() const { return depot_buffers_.size(); }
  // Frees the depot and the calling thread's cache (other threads' caches are small and stay).
  void trim();

  // Raw blocks for the allocator below (one block size: the event's control block).
  void* take_block(std::size_t size);
  void give_block(void* p, std::size_t size) noexcept;
  // The JSON buffer of an event being destroyed.
  void give_buffer(std::string&& buf) noexcept;

  static constexpr std::size_t kThreadCache = 128;  // per thread, of blocks and of buffers
  static constexpr std::size_t kBatch = 32;         // moved between a cache and the depot at once

  struct Local;  // a thread's cache (EventPool.cpp)
  enum Count { kBlockHit, kBlockMiss, kBufferHit, kBufferMiss };  // Local::counts, retired_

 private:
  std::uint64_t total(int count) const;  // over live threads and exited ones
  EventPool(std::size_t max_blocks, std::size_t max_buffers, std::size_t max_buffer_bytes);
  Local& local();
  std::string take_buffer();
  void retire(Local& l) noexcept;  // a thread exits: its cache and counts go to the depot

  const std::size_t max_blocks_;
  const std::size_t max_buffer_bytes_;
  BufferPool depot_buffers_;
  mutable std::mutex mu_;
  std::atomic<std::size_t> block_size_{0};  // set once (under mu_) by the first block
  std::vector<void*> blocks_;    // guarded by mu_: the block depot
  std::vector<Local*> locals_;   // guarded by mu_: live threads' caches (for the counts)
  std::uint64_t retired_[4] = {0, 0, 0, 0};  // guarded by mu_: counts of exited threads
};

// Allocator for std::allocate_shared<Event>: blocks from EventPool; destroying the event hands
// its json buffer back to the pool before the event goes.
template <class T>
struct EventAllocator {
  using value_type = T;
  EventAllocator() noexcept = default;
  template <class U>
  EventAllocator(const EventAllocator<U>&) noexcept {}  // NOLINT: converting by design
  T* allocate(std::size_t n) { return static_cast<T*>(EventPool::instance().take_block(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t n) noexcept { EventPool::instance().give_block(p, sizeof(T) * n); }
  template <class U>
  void destroy(U* p) noexcept {
    if constexpr (std::is_same_v<U, Event>) EventPool::instance().give_buffer(std::move(p->json));
    p->~U();
  }
  template <class U>
  bool operator==(const EventAllocator<U>&) const noexcept { return true; }
};

}  // namespace troupe::sync
