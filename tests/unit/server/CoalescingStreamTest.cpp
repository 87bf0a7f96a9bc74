// CoalescingStream over a real loopback TCP connection: corked writes leave in one piece and in
// order, uncorked writes leave at once, a failed socket fails later writes, and a WebSocket stream
// on top of it delivers a corked burst as separate messages and still answers pings by itself.
#include "server/CoalescingStream.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace troupe::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct Pair {
  asio::io_context io{1};
  tcp::socket server{io};
  tcp::socket client{io};
  Pair() {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acc.local_endpoint());
    acc.accept(server);
  }
  // Runs handlers until nothing is ready (and a little longer for the kernel to deliver bytes).
  void settle() {
    for (int i = 0; i < 5; ++i) {
      io.restart();
      io.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    io.restart();
    io.poll();
  }
};

std::size_t write_now(CoalescingStream& s, Pair& p, const std::string& text) {
  std::size_t written = 0;
  boost::system::error_code got;
  s.async_write_some(asio::buffer(text), [&](boost::system::error_code ec, std::size_t n) {
    got = ec;
    written = n;
  });
  p.settle();
  EXPECT_FALSE(got) << got.message();
  return written;
}

TEST(CoalescingStream, CorkedWritesLeaveTogetherInOrder) {
  Pair p;
  CoalescingStream s{beast::tcp_stream(std::move(p.server))};
  s.cork();
  EXPECT_EQ(write_now(s, p, "one,"), 4u);
  EXPECT_EQ(write_now(s, p, "two,"), 4u);
  EXPECT_EQ(write_now(s, p, "three"), 5u);
  EXPECT_EQ(s.pending_bytes(), 13u);
  EXPECT_EQ(p.client.available(), 0u) << "nothing may reach the socket while corked";
  s.uncork();
  p.settle();
  EXPECT_EQ(s.pending_bytes(), 0u);
  std::string got(13, '\0');
  asio::read(p.client, asio::buffer(got));
  EXPECT_EQ(got, "one,two,three");
}

TEST(CoalescingStream, UncorkedWritesLeaveAtOnceAndKeepTheirOrder) {
  Pair p;
  CoalescingStream s{beast::tcp_stream(std::move(p.server))};
  std::string big(4 << 20, 'x');  // larger than the socket buffers: stays in flight a while
  bool big_done = false;
  s.async_write_some(asio::buffer(big), [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, big.size());
    big_done = true;
  });
  std::string tail = "END";
  s.async_write_some(asio::buffer(tail), [](boost::system::error_code ec, std::size_t) { EXPECT_FALSE(ec); });
  // Read everything on a second thread while this one runs the stream's writes.
  std::string got;
  std::thread reader([&] {
    std::vector<char> buf(1 << 16);
    boost::system::error_code ec;
    while (got.size() < big.size() + tail.size()) {
      std::size_t n = p.client.read_some(asio::buffer(buf), ec);
      if (ec) break;
      got.append(buf.data(), n);
    }
  });
  p.io.restart();
  p.io.run_for(std::chrono::seconds(10));
  reader.join();
  EXPECT_TRUE(big_done);
  ASSERT_EQ(got.size(), big.size() + tail.size());
  EXPECT_EQ(got.substr(got.size() - 3), "END");
  EXPECT_EQ(got.find_first_not_of('x'), big.size());
}

TEST(CoalescingStream, AFailedSocketFailsLaterWrites) {
  Pair p;
  CoalescingStream s{beast::tcp_stream(std::move(p.server))};
  p.client.close();
  boost::system::error_code last;
  std::string chunk(64 * 1024, 'y');
  for (int i = 0; i < 200 && !last; ++i) {
    s.async_write_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t) { last = ec; });
    p.settle();
  }
  EXPECT_TRUE(last) << "writes to a closed peer must fail eventually";
  boost::system::error_code after;
  s.async_write_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t) { after = ec; });
  p.settle();
  EXPECT_TRUE(after);
}

TEST(CoalescingStream, WebSocketBurstArrivesAsSeparateMessagesAndPingsAreAnswered) {
  asio::io_context io{1};
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  websocket::stream<beast::tcp_stream> client(io);
  tcp::socket server_sock(io);
  client.next_layer().connect(acc.local_endpoint());
  acc.accept(server_sock);
  websocket::stream<CoalescingStream> server(beast::tcp_stream(std::move(server_sock)));

  std::vector<std::string> received;
  bool pong = false;
  auto server_side = [&]() -> asio::awaitable<void> {
    co_await server.async_accept(asio::use_awaitable);
    server.next_layer().cork();
    for (int i = 0; i < 50; ++i) {
      std::string msg = "{\"n\":" + std::to_string(i) + "}";
      server.text(true);
      co_await server.async_write(asio::buffer(msg), asio::use_awaitable);
    }
    server.next_layer().uncork();
    boost::system::error_code ec = co_await server.next_layer().drain();
    EXPECT_FALSE(ec);
    // The client's ping gets its automatic pong while this read waits for "bye".
    beast::flat_buffer b;
    co_await server.async_read(b, asio::use_awaitable);
    EXPECT_EQ(beast::buffers_to_string(b.data()), "bye");
    std::string ok = "ok";
    co_await server.async_write(asio::buffer(ok), asio::use_awaitable);
    b.clear();
    auto [rec, n] = co_await server.async_read(b, asio::as_tuple(asio::use_awaitable));
    (void)n;
    EXPECT_EQ(rec, websocket::error::closed);
  };
  auto client_side = [&]() -> asio::awaitable<void> {
    co_await client.async_handshake("127.0.0.1", "/", asio::use_awaitable);
    client.control_callback([&](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) pong = true;
    });
    for (int i = 0; i < 50; ++i) {
      beast::flat_buffer b;
      co_await client.async_read(b, asio::use_awaitable);
      received.push_back(beast::buffers_to_string(b.data()));
    }
    co_await client.async_ping({}, asio::use_awaitable);
    std::string bye = "bye";
    co_await client.async_write(asio::buffer(bye), asio::use_awaitable);
    // The pong comes before "ok": reading "ok" reports it to the control callback.
    beast::flat_buffer b;
    co_await client.async_read(b, asio::use_awaitable);
    EXPECT_EQ(beast::buffers_to_string(b.data()), "ok");
    co_await client.async_close(websocket::close_code::normal, asio::use_awaitable);
  };
  asio::co_spawn(io, server_side(), asio::detached);
  asio::co_spawn(io, client_side(), asio::detached);
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(received.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(received[i], "{\"n\":" + std::to_string(i) + "}");
  EXPECT_TRUE(pong);
}

}  // namespace
}  // namespace troupe::server
