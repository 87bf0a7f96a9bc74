#include "sync/EventPool.h"

#include <new>

namespace troupe::sync {

namespace {
// Sized for a few thousand events in flight (replay rings and subscriber queues) without
// allocating; at most 8192 x 4 KiB of idle buffers.
constexpr std::size_t kMaxBlocks = 8192;
constexpr std::size_t kMaxBuffers = 8192;
constexpr std::size_t kMaxBufferBytes = 4096;
}  // namespace

EventPool& EventPool::instance() {
  static EventPool* pool = new EventPool(kMaxBlocks, kMaxBuffers, kMaxBufferBytes);
  return *pool;
}

EventPool::EventPool(std::size_t max_blocks, std::size_t max_buffers, std::size_t max_buffer_bytes)
    : max_blocks_(max_blocks), buffers_(max_buffers, max_buffer_bytes) {
  blocks_.reserve(max_blocks_);
}

std::shared_ptr<Event> EventPool::make() {
  auto ev = std::allocate_shared<Event>(EventAllocator<Event>{});
  ev->json = buffers_.acquire();
  return ev;
}

void* EventPool::take_block(std::size_t size) {
  {
    std::lock_guard lock(mu_);
    if (size == block_size_ && !blocks_.empty()) {
      void* p = blocks_.back();
      blocks_.pop_back();
      block_hits_.fetch_add(1, std::memory_order_relaxed);
      return p;
    }
    if (block_size_ == 0) block_size_ = size;
  }
  block_misses_.fetch_add(1, std::memory_order_relaxed);
  return ::operator new(size);
}

void EventPool::give_block(void* p, std::size_t size) noexcept {
  {
    std::lock_guard lock(mu_);
    if (size == block_size_ && blocks_.size() < max_blocks_) {
      blocks_.push_back(p);
      return;
    }
  }
  ::operator delete(p);
}

std::size_t EventPool::free_blocks() const {
  std::lock_guard lock(mu_);
  return blocks_.size();
}

void EventPool::trim() {
  buffers_.trim();
  std::vector<void*> drop;
  {
    std::lock_guard lock(mu_);
    drop.swap(blocks_);
    blocks_.reserve(max_blocks_);
  }
  for (void* p : drop) ::operator delete(p);
}

}  // namespace troupe::sync
