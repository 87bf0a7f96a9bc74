#include "api/HttpMetrics.h"

namespace troupe::api {

HttpMetrics::HttpMetrics(MetricsRegistry& registry, const std::vector<std::string>& patterns)
    : registry_(registry) {
  auto add = [&](const std::string& label) {
    auto r = std::make_unique<Route>();
    r->label = label;
    r->latency = &registry_.histogram("troupe_http_request_duration_seconds",
                                      "Time from a parsed request to its reply being ready, by route.",
                                      {{"route", label}});
    routes_.push_back(std::move(r));
  };
  for (const auto& p : patterns) add(p);
  add("other");
}

HttpMetrics::Route& HttpMetrics::route(std::size_t i) {
  return i < routes_.size() - 1 ? *routes_[i] : *routes_.back();
}

void HttpMetrics::record(std::size_t i, unsigned status, double seconds) {
  Route& r = route(i);
  r.latency->observe(seconds);
  if (status >= 600) status = 599;
  auto& slot = r.by_status[status];
  Counter* c = slot.load(std::memory_order_acquire);
  if (!c) {
    c = &registry_.counter("troupe_http_requests_total", "HTTP requests by route and status.",
                           {{"route", r.label}, {"status", std::to_string(status)}});
    slot.store(c, std::memory_order_release);
  }
  c->inc();
}

}  // namespace troupe::api
