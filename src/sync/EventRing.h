// EventRing: a chat stream's replay window, the last `capacity` events in seq order, kept in one
// array: it grows to its capacity while the stream is young, then each push overwrites the oldest
// slot, so publishing a token allocates nothing once a stream is warm.
// Thread-safety: none of its own; the owning stream's mutex guards it.
#pragma once

#include <cstddef>
#include <vector>

#include "sync/Event.h"

namespace troupe::sync {

class EventRing {
 public:
  explicit EventRing(std::size_t capacity) : cap_(capacity) {}

  // Appends `e`; when full, the oldest event leaves.
  void push(EventPtr e) {
    if (cap_ == 0) return;
    if (buf_.size() < cap_) {  // still growing: never wrapped, the oldest is at 0
      buf_.push_back(std::move(e));
      return;
    }
    buf_[head_] = std::move(e);
    head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
  }
  bool empty() const { return buf_.empty(); }
  std::size_t size() const { return buf_.size(); }
  std::size_t capacity() const { return cap_; }
  const EventPtr& oldest() const { return buf_[head_]; }
  // Calls f(const EventPtr&) from the oldest event to the newest.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < buf_.size(); ++i) {
      std::size_t at = head_ + i;
      if (at >= buf_.size()) at -= buf_.size();
      f(buf_[at]);
    }
  }

 private:
  std::size_t cap_;
  std::vector<EventPtr> buf_;
  std::size_t head_ = 0;  // index of the oldest event once full
};

}  // namespace troupe::sync
