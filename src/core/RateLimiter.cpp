#include "core/RateLimiter.h"

#include <algorithm>
#include <functional>

namespace troupe {

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_keys)
    : rate_(rate), burst_(std::max(1.0, burst)), max_per_shard_(std::max<std::size_t>(16, max_keys / 16)) {}

RateLimiter::Decision RateLimiter::allow(const std::string& key,
                                         std::chrono::steady_clock::time_point now) {
  if (rate_ <= 0) return {};
  Shard& s = shards_[std::hash<std::string>{}(key) % shards_.size()];
  std::lock_guard lock(s.mu);
  auto it = s.buckets.find(key);
  if (it == s.buckets.end()) {
    if (s.buckets.size() >= max_per_shard_) {
      // Drop buckets that have refilled completely: forgetting them changes nothing.
      for (auto b = s.buckets.begin(); b != s.buckets.end();) {
        double refill = std::chrono::duration<double>(now - b->second.last).count() * rate_;
        b = b->second.tokens + refill >= burst_ ? s.buckets.erase(b) : std::next(b);
      }
      if (s.buckets.size() >= max_per_shard_) return {false, 1.0};
    }
    it = s.buckets.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.last = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  return {false, (1.0 - b.tokens) / rate_};
}

}  // namespace troupe
