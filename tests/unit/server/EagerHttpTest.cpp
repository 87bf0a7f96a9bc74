// EagerHttp over a real loopback TCP connection: a buffered request is parsed without a read
// (and an incomplete one asks for more, a too-large one fails with the parser's limit); a
// response that fits the socket leaves at once, and one larger than the socket buffers leaves in
// part without blocking, the serializer keeping its place for an asynchronous write to finish.
#include "server/EagerHttp.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <string>
#include <thread>

#include "Loopback.h"

namespace troupe::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

void fill(beast::flat_buffer& b, const std::string& s) {
  auto dst = b.prepare(s.size());
  asio::buffer_copy(dst, asio::buffer(s));
  b.commit(s.size());
}

TEST(EagerHttp, ParsesAWholeBufferedRequestAndLeavesTheNextOne) {
  const std::string one = "POST /api/chats/1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  const std::string two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  beast::flat_buffer b;
  fill(b, one + two);
  http::request_parser<http::string_body> p;
  EXPECT_FALSE(EagerHttp::parse_buffered(p, b));
  EXPECT_EQ(p.get().target(), "/api/chats/1/messages");
  EXPECT_EQ(p.get().body(), "hello");
  EXPECT_EQ(b.size(), two.size());  // the pipelined request stays buffered
  http::request_parser<http::string_body> p2;
  EXPECT_FALSE(EagerHttp::parse_buffered(p2, b));
  EXPECT_EQ(p2.get().target(), "/healthz");
  EXPECT_EQ(b.size(), 0u);
}

TEST(EagerHttp, AnIncompleteRequestAsksForMoreAndTheReadFinishesIt) {
  asio::io_context io{1};
  tcp::socket client{io}, server{io};
  connect_loopback(io, client, server);
  beast::flat_buffer b;
  fill(b, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
  http::request_parser<http::string_body> p;
  EXPECT_EQ(EagerHttp::parse_buffered(p, b), http::error::need_more);
  EXPECT_FALSE(p.is_done());
  asio::write(client, asio::buffer(std::string("56789")));
  beast::error_code ec;
  http::read(server, b, p, ec);  // continues from where the parser stopped
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(p.get().body(), "0123456789");
  beast::flat_buffer empty;
  http::request_parser<http::string_body> none;
  EXPECT_EQ(EagerHttp::parse_buffered(none, empty), http::error::need_more);
}

TEST(EagerHttp, LimitsFailAsTheyDoOnARead) {
  beast::flat_buffer b;
  fill(b, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a'));
  http::request_parser<http::string_body> p;
  p.body_limit(10);
  EXPECT_EQ(EagerHttp::parse_buffered(p, b), http::error::body_limit);
  beast::flat_buffer h;
  fill(h, "GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') + "\r\n\r\n");
  http::request_parser<http::string_body> ph;
  ph.header_limit(1024);
  EXPECT_EQ(EagerHttp::parse_buffered(ph, h), http::error::header_limit);
}

TEST(EagerHttp, AResponseThatFitsLeavesAtOnce) {
  asio::io_context io{1};
  tcp::socket client{io}, server{io};
  connect_loopback(io, client, server);
  api::HttpResponse res{http::status::accepted, 11};
  res.body() = R"({"ok":true})";
  res.prepare_payload();
  EagerHttp::ResponseSerializer sr(res);
  EXPECT_FALSE(EagerHttp::write_now(server, sr));
  EXPECT_TRUE(sr.is_done());
  beast::flat_buffer b;
  http::response<http::string_body> got;
  http::read(client, b, got);
  EXPECT_EQ(got.result(), http::status::accepted);
  EXPECT_EQ(got.body(), R"({"ok":true})");
}

TEST(EagerHttp, AResponseLargerThanTheSocketIsFinishedByAnAsynchronousWrite) {
  asio::io_context io{1};
  tcp::socket client{io}, server{io};
  connect_loopback(io, client, server);
  std::string body(8 << 20, '\0');  // more than the loopback socket buffers take
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7 + i / 1013) % 26);
  api::HttpResponse res{http::status::ok, 11};
  res.body() = body;
  res.prepare_payload();
  EagerHttp::ResponseSerializer sr(res);
  // The peer is not reading: part goes, the rest is refused without blocking (the socket stays
  // in blocking mode; only this send does not wait).
  EXPECT_EQ(EagerHttp::write_now(server, sr), asio::error::would_block);
  EXPECT_GT(client.available(), 0u) << "part of the response went before the socket filled";
  EXPECT_FALSE(sr.is_done());
  EXPECT_EQ(::fcntl(server.native_handle(), F_GETFL) & O_NONBLOCK, 0) << "the descriptor stays blocking";
  std::thread reader([&] {
    beast::flat_buffer b;
    http::response_parser<http::string_body> p;
    p.body_limit(16 << 20);
    beast::error_code ec;
    http::read(client, b, p, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(p.get().body() == body) << "the body arrived whole and in order";
  });
  auto f = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<beast::error_code> {
        auto [ec, n] = co_await http::async_write(server, sr, asio::as_tuple(asio::use_awaitable));
        co_return ec;
      },
      asio::use_future);
  io.run_for(std::chrono::seconds(30));
  reader.join();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_FALSE(f.get());
}

}  // namespace
}  // namespace troupe::server
