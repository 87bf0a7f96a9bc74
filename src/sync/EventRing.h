// EventRing: a chat stream's replay window, the last `capacity` events in seq order. The slots
// live in fixed blocks of kBlock events (4 KiB) added as the young stream grows, so growing never
// moves what it holds and never asks the allocator for a large block (a large block freed and
// taken again comes back as fresh pages to fault in); once full each push overwrites the oldest
// slot, so publishing a token allocates nothing once a stream is warm.
// Thread-safety: none of its own; the owning stream's mutex guards it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "sync/Event.h"

namespace troupe::sync {

class EventRing {
 public:
  static constexpr std::size_t kBlock = 256;

  explicit EventRing(std::size_t capacity) : cap_(capacity), block_(std::min(capacity, kBlock)) {}

  // Appends `e`; when full, the oldest event leaves.
  void push(EventPtr e) {
    if (cap_ == 0) return;
    if (size_ < cap_) {  // still growing: never wrapped, the oldest is at 0
      if (size_ == blocks_.size() * block_) blocks_.push_back(std::make_unique<EventPtr[]>(block_));
      slot(size_++) = std::move(e);
      return;
    }
    slot(head_) = std::move(e);
    head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
  }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return cap_; }
  const EventPtr& oldest() const { return slot(head_); }
  // Calls f(const EventPtr&) from the oldest event to the newest.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < size_; ++i) {
      std::size_t at = head_ + i;
      if (at >= size_) at -= size_;
      f(slot(at));
    }
  }

 private:
  EventPtr& slot(std::size_t i) { return blocks_[i / block_][i % block_]; }
  const EventPtr& slot(std::size_t i) const { return blocks_[i / block_][i % block_]; }

  std::size_t cap_;
  std::size_t block_;  // events per block: kBlock, or the capacity when it is smaller
  std::vector<std::unique_ptr<EventPtr[]>> blocks_;
  std::size_t size_ = 0;
  std::size_t head_ = 0;  // index of the oldest event once full
};

}  // namespace troupe::sync
