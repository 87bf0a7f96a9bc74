#include "core/BufferPool.h"

#include <algorithm>
#include <utility>

namespace troupe {

BufferPool::BufferPool(std::size_t max_buffers, std::size_t max_capacity)
    : max_buffers_(max_buffers), max_capacity_(max_capacity) {
  free_.reserve(max_buffers_);  // release() never grows the vector
}

std::string BufferPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      std::string b = std::move(free_.back());
      free_.pop_back();
      hits_.fetch_add(1, std::memory_order_relaxed);
      b.clear();
      return b;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

void BufferPool::release(std::string&& buf) noexcept {
  if (buf.capacity() > max_capacity_ || buf.capacity() <= std::string().capacity()) return;
  std::string keep = std::move(buf);
  std::lock_guard lock(mu_);
  if (free_.size() < max_buffers_) free_.push_back(std::move(keep));
}  // not kept: freed here, outside the caller's data

std::size_t BufferPool::take(std::vector<std::string>& out, std::size_t n) {
  std::lock_guard lock(mu_);
  std::size_t moved = 0;
  for (; moved < n && !free_.empty(); ++moved) {
    out.push_back(std::move(free_.back()));
    free_.pop_back();
    out.back().clear();
  }
  return moved;
}

void BufferPool::give(std::vector<std::string>& in, std::size_t n) noexcept {
  n = std::min(n, in.size());
  {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < n && free_.size() < max_buffers_; ++i) {
      std::string& b = in[in.size() - 1 - i];
      if (b.capacity() <= max_capacity_ && b.capacity() > std::string().capacity()) {
        free_.push_back(std::move(b));
      }
    }
  }
  in.resize(in.size() - n);  // what was not kept is freed here, outside the lock
}

void BufferPool::trim() {
  std::vector<std::string> drop;
  {
    std::lock_guard lock(mu_);
    drop.swap(free_);
    free_.reserve(max_buffers_);
  }
}

std::size_t BufferPool::size() const {
  std::lock_guard lock(mu_);
  return free_.size();
}

}  // namespace troupe
