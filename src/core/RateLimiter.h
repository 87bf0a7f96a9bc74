// RateLimiter: token buckets by key (a user id, an IP address). allow() takes one token and, when
// none is left, says how long until one is (for Retry-After). Buckets of idle keys are dropped so
// the table stays bounded.
// Thread-safety: allow() may be called from any thread (16 independently locked shards).
#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace troupe {

class RateLimiter {
 public:
  // `rate` tokens per second, up to `burst` saved; rate <= 0 disables the limiter.
  RateLimiter(double rate, double burst, std::size_t max_keys = 100000);

  struct Decision {
    bool allowed = true;
    double retry_after_seconds = 0;
  };
  Decision allow(const std::string& key,
                 std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  double rate_;
  double burst_;
  std::size_t max_per_shard_;
  std::array<Shard, 16> shards_;
};

}  // namespace troupe
