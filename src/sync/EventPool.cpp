#include "sync/EventPool.h"

#include <new>

namespace troupe::sync {

namespace {
// Sized for a few thousand events in flight (replay rings and subscriber queues) without
// allocating; at most 8192 x 4 KiB of idle buffers in the depot.
constexpr std::size_t kMaxBlocks = 8192;
constexpr std::size_t kMaxBuffers = 8192;
constexpr std::size_t kMaxBufferBytes = 4096;
}  // namespace

// One thread's cache. Only its thread changes it; the counts are read by the metrics (relaxed).
struct EventPool::Local {
  std::vector<void*> blocks;
  std::vector<std::string> buffers;
  std::atomic<std::uint64_t> counts[4] = {0, 0, 0, 0};
  bool registered = false;

  void bump(int c) { counts[c].store(counts[c].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  ~Local();
};

namespace {
// Set when the thread's cache is gone (thread exit): later releases use the depot directly.
thread_local bool t_local_gone = false;
thread_local EventPool::Local t_local;
}  // namespace

EventPool::Local::~Local() {
  t_local_gone = true;
  if (registered) EventPool::instance().retire(*this);
}

EventPool& EventPool::instance() {
  static EventPool* pool = new EventPool(kMaxBlocks, kMaxBuffers, kMaxBufferBytes);
  return *pool;
}

EventPool::EventPool(std::size_t max_blocks, std::size_t max_buffers, std::size_t max_buffer_bytes)
    : max_blocks_(max_blocks), max_buffer_bytes_(max_buffer_bytes),
      depot_buffers_(max_buffers, max_buffer_bytes) {
  blocks_.reserve(max_blocks_);
}

EventPool::Local& EventPool::local() {
  Local& l = t_local;
  if (!l.registered) {
    l.blocks.reserve(kThreadCache + kBatch);
    l.buffers.reserve(kThreadCache + kBatch);
    std::lock_guard lock(mu_);
    locals_.push_back(&l);
    l.registered = true;
  }
  return l;
}

std::shared_ptr<Event> EventPool::make() {
  auto ev = std::allocate_shared<Event>(EventAllocator<Event>{});
  ev->json = take_buffer();
  return ev;
}

void* EventPool::take_block(std::size_t size) {
  if (!t_local_gone) {
    Local& l = local();
    if (l.blocks.empty()) {
      std::lock_guard lock(mu_);
      if (block_size_.load(std::memory_order_relaxed) == 0) block_size_.store(size, std::memory_order_relaxed);
      if (size == block_size_.load(std::memory_order_relaxed)) {
        for (std::size_t i = 0; i < kBatch && !blocks_.empty(); ++i) {
          l.blocks.push_back(blocks_.back());
          blocks_.pop_back();
        }
      }
    }
    if (!l.blocks.empty() && size == block_size_.load(std::memory_order_relaxed)) {  // block_size_ is set once, before any block exists
      void* p = l.blocks.back();
      l.blocks.pop_back();
      l.bump(kBlockHit);
      return p;
    }
    l.bump(kBlockMiss);
    return ::operator new(size);
  }
  {
    std::lock_guard lock(mu_);
    if (size == block_size_.load(std::memory_order_relaxed) && !blocks_.empty()) {
      void* p = blocks_.back();
      blocks_.pop_back();
      ++retired_[kBlockHit];
      return p;
    }
    if (block_size_.load(std::memory_order_relaxed) == 0) block_size_.store(size, std::memory_order_relaxed);
    ++retired_[kBlockMiss];
  }
  return ::operator new(size);
}

void EventPool::give_block(void* p, std::size_t size) noexcept {
  if (!t_local_gone && size == block_size_.load(std::memory_order_relaxed)) {
    Local& l = local();
    l.blocks.push_back(p);
    if (l.blocks.size() <= kThreadCache) return;
    std::size_t n = 0;
    {
      std::lock_guard lock(mu_);
      for (; n < kBatch && blocks_.size() < max_blocks_; ++n) {
        blocks_.push_back(l.blocks.back());
        l.blocks.pop_back();
      }
    }
    for (; n < kBatch; ++n) {  // depot full
      ::operator delete(l.blocks.back());
      l.blocks.pop_back();
    }
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (size == block_size_.load(std::memory_order_relaxed) && blocks_.size() < max_blocks_) {
      blocks_.push_back(p);
      return;
    }
  }
  ::operator delete(p);
}

std::string EventPool::take_buffer() {
  if (t_local_gone) return depot_buffers_.acquire();
  Local& l = local();
  if (l.buffers.empty()) depot_buffers_.take(l.buffers, kBatch);
  if (l.buffers.empty()) {
    l.bump(kBufferMiss);
    return {};
  }
  std::string b = std::move(l.buffers.back());
  l.buffers.pop_back();
  l.bump(kBufferHit);
  return b;
}

void EventPool::give_buffer(std::string&& buf) noexcept {
  if (buf.capacity() > max_buffer_bytes_ || buf.capacity() <= std::string().capacity()) return;
  if (t_local_gone) return depot_buffers_.release(std::move(buf));
  Local& l = local();
  buf.clear();
  l.buffers.push_back(std::move(buf));
  if (l.buffers.size() > kThreadCache) depot_buffers_.give(l.buffers, kBatch);
}

void EventPool::retire(Local& l) noexcept {
  {
    std::lock_guard lock(mu_);
    for (int c = 0; c < 4; ++c) retired_[c] += l.counts[c].load(std::memory_order_relaxed);
    std::erase(locals_, &l);
    while (!l.blocks.empty() && blocks_.size() < max_blocks_) {
      blocks_.push_back(l.blocks.back());
      l.blocks.pop_back();
    }
  }
  for (void* p : l.blocks) ::operator delete(p);
  l.blocks.clear();
  depot_buffers_.give(l.buffers, l.buffers.size());
}

std::uint64_t EventPool::total(int count) const {
  std::lock_guard lock(mu_);
  std::uint64_t n = retired_[count];
  for (const Local* l : locals_) n += l->counts[count].load(std::memory_order_relaxed);
  return n;
}

std::size_t EventPool::free_blocks() const {
  std::lock_guard lock(mu_);
  return blocks_.size();
}

void EventPool::trim() {
  depot_buffers_.trim();
  std::vector<void*> drop;
  {
    std::lock_guard lock(mu_);
    drop.swap(blocks_);
    blocks_.reserve(max_blocks_);
  }
  if (!t_local_gone) {
    Local& l = local();
    drop.insert(drop.end(), l.blocks.begin(), l.blocks.end());
    l.blocks.clear();
    l.buffers.clear();
    l.buffers.shrink_to_fit();
    l.buffers.reserve(kThreadCache + kBatch);
  }
  for (void* p : drop) ::operator delete(p);
}

}  // namespace troupe::sync
