#include "FakeUpstream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdio>

namespace troupe::llm::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kStreamHeader =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

std::string chunk(std::string_view s) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", s.size());
  return std::string(size) + std::string(s) + "\r\n";
}

}  // namespace

FakeUpstream::FakeUpstream(asio::io_context& io)
    : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

FakeUpstream::~FakeUpstream() { stop(); }

std::string FakeUpstream::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

std::string FakeUpstream::token_event(int i) {
  return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok" + std::to_string(i) +
         " \"},\"finish_reason\":null}]}\n\n";
}

void FakeUpstream::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& w : open_) {
    if (auto s = w.lock()) s->close();
  }
}

const FakeUpstream::Reply& FakeUpstream::next_reply() {
  const std::size_t i = std::min(served_++, script_.size() - 1);
  return script_[i];
}

asio::awaitable<void> FakeUpstream::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
    if (ec || stopped_) co_return;
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    open_.push_back(stream);
    asio::co_spawn(io_, serve(stream), asio::detached);
  }
}

asio::awaitable<bool> FakeUpstream::send(beast::tcp_stream& s, std::string bytes) {
  s.expires_after(std::chrono::seconds(10));
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes), kTuple);
  (void)n;
  co_return !ec;
}

asio::awaitable<void> FakeUpstream::wait_close(beast::tcp_stream& s) {
  char buf[256];
  for (;;) {
    s.expires_after(std::chrono::seconds(10));
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
    (void)n;
    if (!ec) continue;
    if (ec != asio::error::operation_aborted && ec != beast::error::timeout && !stopped_) {
      closed_at_ = Clock::now();
      if (on_client_close) {
        auto f = on_client_close;
        f();
      }
    }
    co_return;
  }
}

asio::awaitable<void> FakeUpstream::serve(std::shared_ptr<beast::tcp_stream> stream) {
  beast::tcp_stream& s = *stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  s.expires_after(std::chrono::seconds(5));
  auto [ec, n] = co_await http::async_read(s, buffer, req, kTuple);
  (void)n;
  if (ec) co_return;
  seen_.push_back(Seen{std::string(req.target()), std::string(req[http::field::authorization]),
                       std::string(req[http::field::content_type]), req.body()});
  const Reply r = next_reply();

  if (r.kind == Kind::no_headers) co_return co_await wait_close(s);
  if (r.kind == Kind::raw) {
    co_await send(s, r.raw);
    s.close();
    co_return;
  }
  if (r.kind == Kind::status) {
    std::string body = "{\"error\":{\"message\":\"boom\"}}";
    if (r.body_bytes > 0) body = std::string(r.body_bytes, 'x');
    co_await send(s, "HTTP/1.1 " + std::to_string(r.status) +
                         " Error\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
    s.close();
    co_return;
  }
  if (!co_await send(s, std::string(kStreamHeader))) co_return;
  asio::steady_timer gap(io_);
  for (int i = 0; i < r.tokens; ++i) {
    if (r.token_gap.count() > 0) {
      gap.expires_after(r.token_gap);
      co_await gap.async_wait(kTuple);
    }
    if (!co_await send(s, chunk(token_event(i)))) co_return;
  }
  std::string tail;
  switch (r.kind) {
    case Kind::stall:
      co_return co_await wait_close(s);
    case Kind::drop:
      s.close();
      co_return;
    case Kind::error_chunk:
      tail = chunk("data: {\"error\":{\"message\":\"model overloaded\",\"code\":500}}\n\n");
      break;
    case Kind::garbage:
      tail = chunk("data: {this is not json\n\n");
      break;
    default:
      tail =
          chunk("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n") +
          chunk("data: [DONE]\n\n");
      break;
  }
  if (!co_await send(s, tail + "0\r\n\r\n")) co_return;
  boost::system::error_code ignored;
  s.socket().shutdown(tcp::socket::shutdown_send, ignored);
  char buf[64];
  s.expires_after(std::chrono::seconds(5));
  co_await s.async_read_some(asio::buffer(buf), kTuple);
  s.close();
}

}  // namespace troupe::llm::testing
