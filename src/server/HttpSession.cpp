#include "server/HttpSession.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>
#include <variant>

#include "server/EagerHttp.h"
#include "server/SseStream.h"
#include "server/WsSession.h"

namespace troupe::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

struct ConnectionCount {
  ConnectionCount(ServerState* s, std::string ip) : s_(s), ip_(std::move(ip)) { s_->connections.fetch_add(1); }
  ~ConnectionCount() {
    s_->connections.fetch_sub(1);
    std::lock_guard lock(s_->ip_mu);
    auto it = s_->per_ip.find(ip_);
    if (it != s_->per_ip.end() && --it->second <= 0) s_->per_ip.erase(it);
  }
  ServerState* s_;
  std::string ip_;
};

asio::awaitable<void> write_error(beast::tcp_stream& stream, http::status status,
                                  std::string_view code, std::string message,
                                  std::chrono::milliseconds timeout) {
  auto r = api::error_reply(status, code, message, 11, false);
  if (status == http::status::service_unavailable || status == http::status::too_many_requests) {
    r.res.set(http::field::retry_after, "1");
  }
  stream.expires_after(timeout);
  co_await http::async_write(stream, r.res, asio::as_tuple(asio::use_awaitable));
}

using RequestParser = http::request_parser<http::string_body>;

// Pipelined requests served in a row before the session lets other work on its thread run.
constexpr int kFairnessBurst = 16;

// Reads (the rest of) a request's header, or of the whole request, until `deadline_at`. Our own
// timer rather than the stream's expiry: an expired tcp_stream closes the socket, and a slow
// client must still receive its 408 (beast::error::timeout here).
asio::awaitable<boost::system::error_code> read_until(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                      RequestParser& parser, bool header_only,
                                                      std::chrono::steady_clock::time_point deadline_at) {
  asio::steady_timer deadline(co_await asio::this_coro::executor, deadline_at);
  auto timer = deadline.async_wait(asio::as_tuple(asio::use_awaitable));
  std::variant<std::tuple<boost::system::error_code, std::size_t>, std::tuple<boost::system::error_code>> raced;
  if (header_only) {
    raced = co_await (http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable)) ||
                      std::move(timer));
  } else {
    raced = co_await (http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable)) ||
                      std::move(timer));
  }
  if (raced.index() == 0) co_return std::get<0>(std::get<0>(raced));
  if (!std::get<0>(std::get<1>(raced))) co_return beast::error::timeout;
  co_return asio::error::operation_aborted;
}

// A client that sent `Expect: 100-continue` holds its body back until told to go on (curl waits
// a second for large uploads); the header is known to be acceptable at this point.
bool expects_continue(const RequestParser& parser) {
  auto v = parser.get()[http::field::expect];
  return beast::iequals(v, "100-continue");
}

// A response to HEAD carries the headers of the response to GET, without the body.
void strip_body_for_head(const api::HttpRequest& req, api::HttpResponse& res) {
  if (req.method() != http::verb::head || res.body().empty()) return;
  const auto n = res.body().size();
  res.body().clear();
  res.content_length(n);
}

bool is_ws_path(const api::HttpRequest& req) {
  auto u = boost::urls::parse_origin_form(req.target());
  return u && u->path() == "/ws";
}

}  // namespace

asio::awaitable<void> HttpSession::reject(ServerState* state, tcp::socket socket, Admission why) {
  co_await asio::this_coro::throw_if_cancelled(false);
  beast::tcp_stream stream(std::move(socket));
  if (why == Admission::ip_full) {
    co_await write_error(stream, http::status::too_many_requests, "rate_limited",
                         "too many connections from this address; retry shortly", std::chrono::milliseconds(2000));
  } else {
    co_await write_error(stream, http::status::service_unavailable, "unavailable",
                         "too many connections; retry shortly", std::chrono::milliseconds(2000));
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  (void)state;
}

asio::awaitable<void> HttpSession::run(ServerState* state, std::shared_ptr<Task> task,
                                       tcp::socket socket, std::string ip) {
  co_await asio::this_coro::throw_if_cancelled(false);
  ConnectionCount count(state, std::move(ip));
  const auto& cfg = state->config.server;
  const auto request_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
  const auto idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  buffer.max_size(cfg.max_header_bytes + cfg.max_body_bytes + 4096);
  bool first = true;
  int eager_streak = 0;  // pipelined requests served in a row without yielding

  for (;;) {
    // Between requests: wait up to the idle timeout for the next one to start.
    if (!first && buffer.size() == 0) {
      task->set_state("idle");
      stream.expires_after(idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    task->set_state("reading request");
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.max_header_bytes);
    parser.body_limit(cfg.max_body_bytes);
    stream.expires_never();
    // A request already buffered whole (the usual case after the idle read) is parsed at once;
    // only the rest of an incomplete one is read under the request deadline.
    boost::system::error_code ec = EagerHttp::parse_buffered(parser, buffer);
    if (ec == http::error::need_more) {
      const auto deadline_at = std::chrono::steady_clock::now() + request_timeout;
      ec = {};
      if (!parser.is_header_done()) ec = co_await read_until(stream, buffer, parser, true, deadline_at);
      if (!ec && !parser.is_done() && expects_continue(parser)) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream.expires_after(request_timeout);
        auto [cec, cn] = co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                                                    asio::as_tuple(asio::use_awaitable));
        stream.expires_never();
        ec = cec;
      }
      if (!ec && !parser.is_done()) ec = co_await read_until(stream, buffer, parser, false, deadline_at);
    }
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) break;
      if (ec == beast::error::timeout) {
        if (parser.got_some() || buffer.size() > 0) {
          co_await write_error(stream, http::status::request_timeout, "timeout",
                               "request not received within " + std::to_string(cfg.request_timeout_ms) + " ms",
                               std::chrono::milliseconds(2000));
        }
        break;
      }
      if (ec == http::error::body_limit) {
        co_await write_error(stream, http::status::payload_too_large, "payload_too_large",
                             "request body larger than " + std::to_string(cfg.max_body_bytes) + " bytes",
                             std::chrono::milliseconds(2000));
        break;
      }
      if (ec == http::error::header_limit) {
        co_await write_error(stream, http::status::request_header_fields_too_large, "bad_request",
                             "request headers larger than " + std::to_string(cfg.max_header_bytes) + " bytes",
                             std::chrono::milliseconds(2000));
        break;
      }
      if (parser.got_some()) {
        co_await write_error(stream, http::status::bad_request, "bad_request",
                             "malformed HTTP request: " + ec.message(), std::chrono::milliseconds(2000));
      }
      break;
    }
    auto req = parser.release();
    if (state->shutting_down) {
      co_await write_error(stream, http::status::service_unavailable, "unavailable",
                           "server is shutting down", std::chrono::milliseconds(2000));
      break;
    }
    if (beast::websocket::is_upgrade(req) && is_ws_path(req)) {
      if (auto* budget = state->api.services().memory_budget; budget && budget->shedding()) {
        budget->count_shed();
        co_await write_error(stream, http::status::service_unavailable, "unavailable",
                             budget->reason() + "; try again later", std::chrono::milliseconds(2000));
        break;
      }
      task->set_state("websocket");
      co_await WsSession::run(state, task, std::move(stream), std::move(req));
      co_return;
    }
    task->set_state("handling");
    api::Reply reply = co_await state->api.handle(req);
    // HEAD of an event stream: its headers, then close (the subscription is dropped unused).
    if (reply.sse && req.method() != http::verb::head) {
      task->set_state("sse");
      co_await SseStream::run(state, task, stream, std::move(reply));
      break;
    }
    task->set_state("writing response");
    strip_body_for_head(req, reply.res);
    bool keep = reply.res.keep_alive() && !reply.res.need_eof() && !state->shutting_down;
    reply.res.keep_alive(keep);
    // What the socket takes at once goes now; only the rest waits under the deadline.
    EagerHttp::ResponseSerializer sr(reply.res);
    auto wec = EagerHttp::write_now(stream.socket(), sr);
    if (wec == asio::error::would_block) {
      stream.expires_after(request_timeout);
      auto [aec, wn] = co_await http::async_write(stream, sr, asio::as_tuple(asio::use_awaitable));
      stream.expires_never();
      wec = aec;
    }
    if (wec || !keep) break;
    // Requests pipelined into the buffer are served without waiting on the socket; every
    // kFairnessBurst of them in a row, the other connections on this thread get their turn.
    if (buffer.size() > 0 && ++eager_streak >= kFairnessBurst) {
      eager_streak = 0;
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    } else if (buffer.size() == 0) {
      eager_streak = 0;
    }
  }
  // Half-close and drain briefly so an error reply is not lost to a reset from unread input.
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec && !state->shutting_down) {
    task->set_state("draining");
    stream.expires_after(std::chrono::milliseconds(500));
    std::size_t drained = 0;
    char sink[4096];
    while (drained < (1u << 20)) {
      auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
      if (rec) break;
      drained += rn;
    }
  }
  stream.close();
}

}  // namespace troupe::server
