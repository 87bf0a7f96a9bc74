// ChatRoutes: /api/chats (CRUD, history, ranked memories, posting messages, regenerate/continue, SSE events) and
// /api/generations (get, the memories one used, stop).
// Thread-safety: handlers may run concurrently on any I/O executor.
#pragma once

#include "api/Router.h"
#include "api/Services.h"

namespace troupe::api {

class ChatRoutes {
 public:
  explicit ChatRoutes(Services& s) : s_(s) {}
  void add_routes(Router& r);

 private:
  boost::asio::awaitable<Reply> list(RouteContext& c);
  boost::asio::awaitable<Reply> create(RouteContext& c);
  boost::asio::awaitable<Reply> get(RouteContext& c);
  boost::asio::awaitable<Reply> remove(RouteContext& c);
  boost::asio::awaitable<Reply> messages(RouteContext& c);
  boost::asio::awaitable<Reply> memories(RouteContext& c);
  boost::asio::awaitable<Reply> post_message(RouteContext& c);
  boost::asio::awaitable<Reply> generate(RouteContext& c);
  boost::asio::awaitable<Reply> events(RouteContext& c);
  boost::asio::awaitable<Reply> get_generation(RouteContext& c);
  boost::asio::awaitable<Reply> generation_memories(RouteContext& c);
  boost::asio::awaitable<Reply> stop_generation(RouteContext& c);
  Services& s_;
};

}  // namespace troupe::api
