// PersonaRoutes: /api/personas (CRUD).
// Thread-safety: handlers may run concurrently on any I/O executor.
#pragma once

#include "api/Router.h"
#include "api/Services.h"

namespace troupe::api {

class PersonaRoutes {
 public:
  explicit PersonaRoutes(Services& s) : s_(s) {}
  void add_routes(Router& r);

 private:
  boost::asio::awaitable<Reply> list(RouteContext& c);
  boost::asio::awaitable<Reply> create(RouteContext& c);
  boost::asio::awaitable<Reply> get(RouteContext& c);
  boost::asio::awaitable<Reply> update(RouteContext& c);
  boost::asio::awaitable<Reply> remove(RouteContext& c);
  Services& s_;
};

}  // namespace troupe::api
