// HttpMetrics: requests by route pattern and status, with latency histograms per route. The child
// for each (route, status) is created once and then reached through an atomic pointer, so recording
// takes no lock and allocates nothing.
// Thread-safety: record() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/Metrics.h"

namespace troupe::api {

class HttpMetrics {
 public:
  HttpMetrics(MetricsRegistry& registry, const std::vector<std::string>& patterns);
  // `route` = index from Router::Match, or npos for unmatched paths / static files.
  void record(std::size_t route, unsigned status, double seconds);
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  struct Route {
    std::string label;
    Histogram* latency = nullptr;
    std::array<std::atomic<Counter*>, 600> by_status{};
  };
  Route& route(std::size_t i);
  MetricsRegistry& registry_;
  std::vector<std::unique_ptr<Route>> routes_;  // last one = "other"
};

}  // namespace troupe::api
