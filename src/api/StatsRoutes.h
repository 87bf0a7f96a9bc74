// StatsRoutes: GET /api/stats — a compact JSON summary of the server's own metrics registry for the
// web UI's dashboard: cumulative counters, current gauges and merged histogram buckets (the browser
// takes differences between two polls for rates and windowed percentiles). Any signed-in user may
// read it: it holds only server-wide aggregates (no user, chat or task-owner data), the same figures
// /metrics already exposes.
// Thread-safety: handlers may run concurrently on any I/O executor.
#pragma once

#include "api/Router.h"
#include "api/Services.h"

namespace troupe::api {

class StatsRoutes {
 public:
  explicit StatsRoutes(Services& s) : s_(s) {}
  void add_routes(Router& r);
  // The summary as JSON (exposed for tests).
  boost::json::object summary() const;

 private:
  boost::asio::awaitable<Reply> stats(RouteContext& c);
  Services& s_;
};

}  // namespace troupe::api
