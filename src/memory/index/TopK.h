// TopK: bounded selection of the k best (highest-score) hits, O(n log k) with a min-heap.
// Thread-safety: a plain value type; one thread at a time.
#pragma once

#include <cstddef>
#include <vector>

#include "memory/VectorEngine.h"

namespace troupe::memory {

class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }
  // Offers one candidate; NaN scores are ignored.
  void push(VectorId id, float score);
  // Lowest score currently kept (-inf until k hits are held).
  float threshold() const noexcept;
  std::size_t size() const noexcept { return heap_.size(); }
  // The kept hits, best first (ties: smaller id first); empties the selector.
  std::vector<Hit> take_sorted();

 private:
  std::size_t k_;
  std::vector<Hit> heap_;
};

}  // namespace troupe::memory
