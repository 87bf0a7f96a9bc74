// CoalescingStream over a real loopback TCP connection: corked writes leave in one piece and in
// order, uncorked writes leave at once, a failed socket fails later writes, and a WebSocket stream
// on top of it delivers a corked burst as separate messages and still answers pings by itself;
// text frames framed by the stream itself arrive whole at every length form, between the WebSocket
// layer's own pongs.
#include "server/CoalescingStream.h"

#include "Loopback.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>
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
  Pair() { connect_loopback(io, client, server); }
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
  websocket::stream<beast::tcp_stream> client(io);
  tcp::socket server_sock(io);
  connect_loopback(io, client.next_layer().socket(), server_sock);
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

// A connected pair of WebSocket streams over loopback: a Beast client and a server on top of a
// CoalescingStream, both handshaken.
struct WsPair {
  asio::io_context io{1};
  std::unique_ptr<websocket::stream<beast::tcp_stream>> client;
  std::unique_ptr<websocket::stream<CoalescingStream>> server;
  WsPair() {
    client = std::make_unique<websocket::stream<beast::tcp_stream>>(io);
    tcp::socket sock(io);
    connect_loopback(io, client->next_layer().socket(), sock);
    server = std::make_unique<websocket::stream<CoalescingStream>>(beast::tcp_stream(std::move(sock)));
    bool up = false;
    auto hs = [&]() -> asio::awaitable<void> {
      co_await client->async_handshake("127.0.0.1", "/", asio::use_awaitable);
      up = true;
    };
    asio::co_spawn(io, hs(), asio::detached);
    asio::co_spawn(io, server->async_accept(asio::use_awaitable), asio::detached);
    io.run_for(std::chrono::seconds(5));
    io.restart();
    EXPECT_TRUE(up);
  }
};

std::string payload_of(std::size_t n, int seed) {
  std::string s(n, 'a');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

TEST(CoalescingStream, TextFramesOfEveryLengthFormArriveWhole) {
  WsPair p;
  // 7-bit, 16-bit and 64-bit length forms and their edges.
  const std::vector<std::size_t> sizes = {0, 1, 125, 126, 127, 65535, 65536, 200000};
  std::vector<std::string> received;
  bool all_text = true;
  auto server_side = [&]() -> asio::awaitable<void> {
    auto& out = p.server->next_layer();
    out.cork();
    for (std::size_t i = 0; i < sizes.size(); ++i) EXPECT_FALSE(out.write_text_frame(payload_of(sizes[i], int(i))));
    out.uncork();
    EXPECT_FALSE(co_await out.drain());
  };
  auto client_side = [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      beast::flat_buffer b;
      co_await p.client->async_read(b, asio::use_awaitable);
      all_text = all_text && p.client->got_text();
      received.push_back(beast::buffers_to_string(b.data()));
    }
  };
  asio::co_spawn(p.io, server_side(), asio::detached);
  asio::co_spawn(p.io, client_side(), asio::detached);
  p.io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(received.size(), sizes.size());
  EXPECT_TRUE(all_text);
  for (std::size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(received[i], payload_of(sizes[i], int(i))) << sizes[i];
}

TEST(CoalescingStream, TextFramesAndTheWebSocketLayersPongsInterleaveWhole) {
  WsPair p;
  constexpr int kBursts = 200, kPerBurst = 5, kPings = 40;
  std::vector<std::string> received;
  int pongs = 0;
  bool server_closed = false;
  bool pings_done = false;
  // The server reads all the time (answering pings by itself) while bursts of frames go out.
  auto server_reader = [&]() -> asio::awaitable<void> {
    beast::flat_buffer b;
    auto [ec, n] = co_await p.server->async_read(b, asio::as_tuple(asio::use_awaitable));
    (void)n;
    server_closed = ec == websocket::error::closed;
  };
  auto server_writer = [&]() -> asio::awaitable<void> {
    auto& out = p.server->next_layer();
    for (int burst = 0; burst < kBursts; ++burst) {
      out.cork();
      for (int i = 0; i < kPerBurst; ++i) {
        EXPECT_FALSE(out.write_text_frame("{\"n\":" + std::to_string(burst * kPerBurst + i) + "}"));
      }
      out.uncork();
      EXPECT_FALSE(co_await out.drain());
      co_await asio::post(p.io, asio::use_awaitable);  // let the reader answer pings in between
    }
  };
  auto client_pinger = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < kPings; ++i) {
      co_await p.client->async_ping({}, asio::use_awaitable);
      co_await asio::post(p.io, asio::use_awaitable);
    }
    pings_done = true;
  };
  auto client_reader = [&]() -> asio::awaitable<void> {
    p.client->control_callback([&](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) ++pongs;
    });
    for (int i = 0; i < kBursts * kPerBurst; ++i) {
      beast::flat_buffer b;
      co_await p.client->async_read(b, asio::use_awaitable);
      received.push_back(beast::buffers_to_string(b.data()));
    }
    while (!pings_done) co_await asio::post(p.io, asio::use_awaitable);
    // Pongs still on their way are read before the close completes.
    co_await p.client->async_close(websocket::close_code::normal, asio::use_awaitable);
  };
  asio::co_spawn(p.io, server_reader(), asio::detached);
  asio::co_spawn(p.io, server_writer(), asio::detached);
  asio::co_spawn(p.io, client_pinger(), asio::detached);
  asio::co_spawn(p.io, client_reader(), asio::detached);
  p.io.run_for(std::chrono::seconds(20));
  ASSERT_EQ(received.size(), std::size_t(kBursts * kPerBurst));
  for (int i = 0; i < kBursts * kPerBurst; ++i) EXPECT_EQ(received[i], "{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(pongs, kPings);
  EXPECT_TRUE(server_closed);
}

}  // namespace
}  // namespace troupe::server
