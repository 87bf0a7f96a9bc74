// Histogram: a Prometheus histogram of durations.
// Thread-safety: observe() on the writer thread and render() on any I/O thread, concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "Text.h"

namespace troupe_turn_floor {

class Histogram {
 public:
  void observe(std::int64_t ns) {
    std::size_t b = 0;
    while (b < kBounds.size() && static_cast<double>(ns) > kBounds[b] * 1e9) ++b;
    counts_[b].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  }
  void render(std::string& o, const char* name) const {
    char b[160];
    unsigned long long cum = 0;
    add(o, "# TYPE ", name, " histogram\n");
    for (std::size_t i = 0; i <= kBounds.size(); ++i) {
      cum += counts_[i].load(std::memory_order_relaxed);
      if (i < kBounds.size())
        std::snprintf(b, sizeof b, "%s_bucket{le=\"%g\"} %llu\n", name, kBounds[i], cum);
      else
        std::snprintf(b, sizeof b, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
      o += b;
    }
    std::snprintf(b, sizeof b, "%s_sum %.9f\n%s_count %llu\n", name,
                  static_cast<double>(sum_ns_.load()) / 1e9, name, cum);
    o += b;
  }

 private:
  static constexpr std::array<double, 14> kBounds{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace troupe_turn_floor
