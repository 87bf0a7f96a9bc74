// MemoryRoutes: the memory budget's admin endpoints. GET /debug/memory reports the budget (state,
// bytes in use, marks, shed and trim counts, ballast); PUT /debug/memory/ballast {"bytes":N} holds
// N bytes of real resident memory (0 releases it) so an operator can rehearse the budget — drive
// the server over its marks and watch it trim, shed and recover. Admin only.
// Thread-safety: handlers may run concurrently on any I/O executor.
#pragma once

#include "api/Router.h"
#include "api/Services.h"
#include "core/MemoryBallast.h"

namespace troupe::api {

class MemoryRoutes {
 public:
  explicit MemoryRoutes(Services& s) : s_(s) {}
  void add_routes(Router& r);

 private:
  boost::asio::awaitable<Reply> status(RouteContext& c);
  boost::asio::awaitable<Reply> ballast(RouteContext& c);
  boost::json::object report() const;
  Services& s_;
  MemoryBallast ballast_;
};

}  // namespace troupe::api
