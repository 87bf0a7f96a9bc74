// UserRoutes: /api/users/{id} (admin: delete a user and everything of theirs).
// Thread-safety: handlers may run concurrently on any I/O executor.
#pragma once

#include "api/Router.h"
#include "api/Services.h"

namespace troupe::api {

class UserRoutes {
 public:
  explicit UserRoutes(Services& s) : s_(s) {}
  void add_routes(Router& r);

 private:
  boost::asio::awaitable<Reply> remove(RouteContext& c);
  Services& s_;
};

}  // namespace troupe::api
