// EagerHttp: the synchronous fast paths of an HTTP exchange. Most requests arrive whole in one
// read and most responses fit the socket's send buffer; handling those without an asynchronous
// operation saves a timer armed and cancelled and a trip through the scheduler per request.
// - parse_buffered(): feeds what is already buffered to the parser.
// - write_now(): sends as much of a serialized response as the socket takes at once (send with
//   MSG_DONTWAIT: never blocks and leaves the socket's blocking mode alone); the serializer
//   keeps its place, so an asynchronous write can finish what the socket did not take.
// Thread-safety: call from the connection's own strand, like any operation on its socket.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/Http.h"

namespace troupe::server {

class EagerHttp {
 public:
  using ResponseSerializer = boost::beast::http::response_serializer<boost::beast::http::string_body>;

  // {} when the request is complete, http::error::need_more when it needs more input, else the
  // parser's error (header or body limit, malformed input). Consumes what the parser used.
  static boost::system::error_code parse_buffered(
      boost::beast::http::request_parser<boost::beast::http::string_body>& parser,
      boost::beast::flat_buffer& buffer);
  // {} when the whole message was sent, asio::error::would_block when the socket's buffer is
  // full (finish with http::async_write on the same serializer), else the send error.
  static boost::system::error_code write_now(boost::asio::ip::tcp::socket& socket, ResponseSerializer& sr);
};

}  // namespace troupe::server
