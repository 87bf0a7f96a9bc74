// HttpSession: one HTTP/1.1 connection: keep-alive request loop with header/body limits and
// request/idle timeouts, handing each request to the Api, upgrading /ws to a WsSession and
// streaming SSE replies. Every limit answers with a JSON error before closing. `Expect:
// 100-continue` is answered once the header is read; a response to HEAD keeps its headers
// (Content-Length included) and drops its body; requests pipelined into the read buffer are
// served in bursts of at most 16 before the session yields its thread.
// Thread-safety: each session runs on its own strand; static entry points only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/Server.h"

namespace troupe::server {

class HttpSession {
 public:
  enum class Admission { ok, server_full, ip_full };
  // `ip` was counted in state->per_ip by the acceptor; the session gives it back when it ends.
  static boost::asio::awaitable<void> run(ServerState* state, std::shared_ptr<Task> task,
                                          boost::asio::ip::tcp::socket socket, std::string ip);
  // Over server.max_connections: 503; over limits.ip_connections: 429; Retry-After, then close.
  static boost::asio::awaitable<void> reject(ServerState* state,
                                             boost::asio::ip::tcp::socket socket, Admission why);
};

}  // namespace troupe::server
