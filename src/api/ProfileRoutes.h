// ProfileRoutes: /debug/pprof/profile?seconds=N (CPU profile, gperftools format, readable by
// google-pprof) and /debug/pprof/heap (jemalloc heap profile or allocator statistics). Admin only;
// one profile at a time (409 otherwise).
// Thread-safety: handlers may run concurrently on any I/O executor; an atomic flag serialises runs.
#pragma once

#include <atomic>

#include "api/Router.h"
#include "api/Services.h"

namespace troupe::api {

class ProfileRoutes {
 public:
  explicit ProfileRoutes(Services& s) : s_(s) {}
  void add_routes(Router& r);

 private:
  boost::asio::awaitable<Reply> cpu(RouteContext& c);
  boost::asio::awaitable<Reply> heap(RouteContext& c);
  Services& s_;
  std::atomic<bool> busy_{false};
};

}  // namespace troupe::api
