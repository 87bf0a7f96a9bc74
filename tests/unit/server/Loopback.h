// A connected pair of TCP sockets over 127.0.0.1 (an ephemeral port) for the server tests.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace troupe::server {

inline void connect_loopback(boost::asio::io_context& io, boost::asio::ip::tcp::socket& client,
                             boost::asio::ip::tcp::socket& server) {
  using tcp = boost::asio::ip::tcp;
  tcp::acceptor acc(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  client.connect(acc.local_endpoint());
  acc.accept(server);
}

}  // namespace troupe::server
