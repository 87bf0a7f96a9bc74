// HttpSession: one HTTP/1.1 connection: keep-alive request loop with header/body limits and
// request/idle timeouts, handing each request to the Api, upgrading /ws to a WsSession and
// streaming SSE replies. Every limit answers with a JSON error before closing.
// Thread-safety: each session runs on its own strand; static entry points only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/Server.h"

namespace troupe::server {

class HttpSession {
 public:
  static boost::asio::awaitable<void> run(ServerState* state, std::shared_ptr<Task> task,
                                          boost::asio::ip::tcp::socket socket);
  // Over max_connections: a 503 with Retry-After, then close.
  static boost::asio::awaitable<void> reject(ServerState* state,
                                             boost::asio::ip::tcp::socket socket);
};

}  // namespace troupe::server
