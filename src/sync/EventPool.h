// EventPool: recycles published events. make() places the event and its shared_ptr control
// block in one pooled block and fills its JSON into a pooled buffer; when the last reference
// goes, the buffer (with its capacity) and the block go back to their free lists. In steady state
// publishing an event then costs no heap allocation. Both lists are bounded; hit/miss counts are
// exported as metrics (troupe_pool_*).
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

  BufferPool& buffers() { return buffers_; }
  std::uint64_t block_hits() const { return block_hits_.load(std::memory_order_relaxed); }
  std::uint64_t block_misses() const { return block_misses_.load(std::memory_order_relaxed); }
  std::size_t free_blocks() const;
  void trim();

  // Raw blocks for the allocator below (one block size: the event's control block).
  void* take_block(std::size_t size);
  void give_block(void* p, std::size_t size) noexcept;

 private:
  EventPool(std::size_t max_blocks, std::size_t max_buffers, std::size_t max_buffer_bytes);

  const std::size_t max_blocks_;
  BufferPool buffers_;
  mutable std::mutex mu_;
  std::size_t block_size_ = 0;  // guarded by mu_; set by the first block
  std::vector<void*> blocks_;   // guarded by mu_
  std::atomic<std::uint64_t> block_hits_{0};
  std::atomic<std::uint64_t> block_misses_{0};
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
    if constexpr (std::is_same_v<U, Event>) EventPool::instance().buffers().release(std::move(p->json));
    p->~U();
  }
  template <class U>
  bool operator==(const EventAllocator<U>&) const noexcept { return true; }
};

}  // namespace troupe::sync
