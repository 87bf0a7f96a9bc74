// EventRing: a chat stream's replay window, the newest items in seq order holding at most
// `capacity` events (a run, see Event, counts as its events and takes one slot). The slots are a
// circular buffer of at most `capacity` slots, allocated in blocks of kBlock (4 KiB) as the
// young stream first reaches them (the last block only as long as the capacity needs), so
// growing never moves what it holds and never asks the allocator for a large block (a large
// block freed and taken again comes back as fresh pages to fault in). Once the window is full the
// oldest items leave as new ones come, so publishing allocates nothing once a stream is warm.
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

  explicit EventRing(std::size_t capacity)
      : cap_(capacity), block_(std::min(capacity, kBlock)), blocks_(block_ ? (cap_ + block_ - 1) / block_ : 0) {}

  // Appends `e`; the oldest items leave until the window holds at most `capacity` events (an
  // item larger than the whole window is kept alone). Returns the change in events held.
  std::ptrdiff_t push(EventPtr e) {
    if (cap_ == 0 || !e) return 0;
    const std::size_t n = e->count;
    std::ptrdiff_t delta = static_cast<std::ptrdiff_t>(n);
    while (size_ > 0 && (events_ + n > cap_ || size_ == cap_)) {
      EventPtr& old = slot(head_);
      events_ -= old->count;
      delta -= static_cast<std::ptrdiff_t>(old->count);
      old.reset();
      head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
      --size_;
    }
    std::size_t at = head_ + size_;
    if (at >= cap_) at -= cap_;
    slot(at) = std::move(e);
    ++size_;
    events_ += n;
    return delta;
  }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }      // items (slots in use)
  std::size_t events() const { return events_; }  // events in those items
  std::size_t capacity() const { return cap_; }
  const EventPtr& oldest() const { return slot(head_); }
  // Calls f(const EventPtr&) from the oldest item to the newest.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < size_; ++i) {
      std::size_t at = head_ + i;
      if (at >= cap_) at -= cap_;
      f(slot(at));
    }
  }

 private:
  EventPtr& slot(std::size_t i) {
    auto& b = blocks_[i / block_];
    if (!b) b = std::make_unique<EventPtr[]>(std::min(block_, cap_ - (i / block_) * block_));
    return b[i % block_];
  }
  const EventPtr& slot(std::size_t i) const { return blocks_[i / block_][i % block_]; }

  std::size_t cap_;
  std::size_t block_;  // slots per block: kBlock, or the capacity when it is smaller
  std::vector<std::unique_ptr<EventPtr[]>> blocks_;  // allocated when first reached
  std::size_t size_ = 0;    // items held
  std::size_t events_ = 0;  // events in them
  std::size_t head_ = 0;    // slot of the oldest item
};

}  // namespace troupe::sync
