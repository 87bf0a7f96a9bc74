// WsSession: one WebSocket connection on /ws: authenticates the upgrade, then runs a reader
// (client frames → WsProtocol actions), a single writer (bounded outgoing queue) and one pump task
// per subscription, all on the connection's strand. When the connection ends every subscription
// and pump ends with it; shutdown closes with 1001, an oversized frame with 1009.
// Thread-safety: runs on the owning connection's strand.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "api/Http.h"
#include "server/Server.h"

namespace troupe::server {

class WsSession {
 public:
  static boost::asio::awaitable<void> run(ServerState* state, std::shared_ptr<Task> task,
                                          boost::beast::tcp_stream stream, api::HttpRequest req);
};

}  // namespace troupe::server
