// DebugRoutes: /debug/tasks — the live task dump (admin only): tasks grouped by name and state with
// counts and ages as text, ?format=json for tools (with "total"), ?debug=2 for every task.
// Thread-safety: handlers may run concurrently on any I/O executor.
#pragma once

#include "api/Router.h"
#include "api/Services.h"

namespace troupe::api {

class DebugRoutes {
 public:
  explicit DebugRoutes(Services& s) : s_(s) {}
  boost::asio::awaitable<Reply> tasks(RouteContext& c);

 private:
  Services& s_;
};

}  // namespace troupe::api
