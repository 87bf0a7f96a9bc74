#include "memory/index/TopK.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace troupe::memory {
namespace {
// "a is better than b": higher score, then smaller id (a total order, so results are stable).
bool better(const Hit& a, const Hit& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}
}  // namespace

void TopK::push(VectorId id, float score) {
  if (k_ == 0 || std::isnan(score)) return;
  Hit h{id, score};
  if (heap_.size() < k_) {
    heap_.push_back(h);
    std::push_heap(heap_.begin(), heap_.end(), better);  // worst kept on top
    return;
  }
  if (!better(h, heap_.front())) return;
  std::pop_heap(heap_.begin(), heap_.end(), better);
  heap_.back() = h;
  std::push_heap(heap_.begin(), heap_.end(), better);
}

float TopK::threshold() const noexcept {
  return heap_.size() < k_ ? -std::numeric_limits<float>::infinity() : heap_.front().score;
}

std::vector<Hit> TopK::take_sorted() {
  std::vector<Hit> out = std::move(heap_);
  heap_.clear();
  std::sort(out.begin(), out.end(), better);
  return out;
}

}  // namespace troupe::memory
