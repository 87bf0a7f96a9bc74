// SseStream: writes a subscription as text/event-stream (id/event/data frames, keep-alive comments)
// until the client goes away, the subscription closes or the server shuts down. A concurrent read
// notices a closed client at once so its subscription is released immediately.
// Thread-safety: runs on the owning connection's strand.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <string_view>

#include "api/Http.h"
#include "server/Server.h"

namespace troupe::server {

class SseStream {
 public:
  static boost::asio::awaitable<void> run(ServerState* state, std::shared_ptr<Task> task,
                                          boost::beast::tcp_stream& stream, api::Reply reply);
  // Appends one event in SSE framing to `out`.
  static void frame(const sync::Event& ev, std::string& out);
  // Writes `out` whole: first one non-blocking send (the socket must be in non-blocking mode),
  // then, for what the socket did not take, an asynchronous write that fails with a timeout
  // after `timeout` (a client that stops reading is cut off).
  static boost::asio::awaitable<boost::system::error_code> write_all(
      boost::beast::tcp_stream& stream, std::string_view out, std::chrono::milliseconds timeout);
};

}  // namespace troupe::server
