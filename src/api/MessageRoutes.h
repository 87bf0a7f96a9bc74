// MessageRoutes: /api/messages/{id} (edit, delete subtree, select swipe, branch, list siblings).
// Thread-safety: handlers may run concurrently on any I/O executor.
#pragma once

#include "api/Router.h"
#include "api/Services.h"

namespace troupe::api {

class MessageRoutes {
 public:
  explicit MessageRoutes(Services& s) : s_(s) {}
  void add_routes(Router& r);

 private:
  boost::asio::awaitable<Reply> edit(RouteContext& c);
  boost::asio::awaitable<Reply> remove(RouteContext& c);
  boost::asio::awaitable<Reply> select(RouteContext& c);
  boost::asio::awaitable<Reply> branch(RouteContext& c);
  boost::asio::awaitable<Reply> siblings(RouteContext& c);
  Services& s_;
};

}  // namespace troupe::api
