#include "server/SseStream.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <vector>

namespace troupe::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t kMaxBatch = 256;

// Completes when the peer closes or errors (SSE clients send nothing after the request).
asio::awaitable<void> watch_close(beast::tcp_stream* stream) {
  char buf[512];
  for (;;) {
    auto [ec, n] = co_await stream->socket().async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

asio::awaitable<void> pump(ServerState* state, Task* task, beast::tcp_stream* stream,
                           std::shared_ptr<sync::Subscription> sub) {
  const auto interval = std::chrono::milliseconds(state->config.server.keepalive_interval_ms);
  const auto write_timeout = std::chrono::milliseconds(state->config.server.idle_timeout_ms);
  std::string out;
  std::vector<std::int64_t> live_us;  // publish times of the live events in `out`
  live_us.reserve(kMaxBatch);
  std::vector<sync::EventPtr> queued;  // the events of one write
  queued.reserve(kMaxBatch);
  for (;;) {
    out.clear();
    live_us.clear();
    // An event already queued is taken at once; an idle stream waits for the next one until a
    // keep-alive is due (the subscription's own timer: no parallel group per wait).
    sync::EventPtr ev = sub->try_next();
    bool idle = false;
    if (!ev) {
      task->set_state("sse: awaiting event");
      auto r = co_await sub->next_until(std::chrono::steady_clock::now() + interval);
      ev = std::move(r.event);
      idle = r.timed_out;
    }
    if (!idle) {
      if (!ev) {
        if (sub->overflowed()) {
          out = "event: error\ndata: {\"type\":\"error\",\"code\":\"overflow\",\"message\":\"subscriber fell behind; reconnect with Last-Event-ID\"}\n\n";
        } else {
          break;
        }
      } else {
        // Everything queued behind it goes out in the same write (one lock to take it all).
        queued.push_back(std::move(ev));
        sub->try_take(queued, kMaxBatch - 1);
        for (const auto& e : queued) {
          SseStream::frame(*e, out);
          if (sub->is_live(*e)) live_us.push_back(e->published_us);
        }
        queued.clear();
      }
    } else {
      out = ": keep-alive\n\n";
    }
    task->set_state("sse: writing");
    auto ec = co_await SseStream::write_all(*stream, out, write_timeout);
    if (ec || (sub->closed() && out.rfind("event: error", 0) == 0)) break;
    if (!live_us.empty()) {
      const std::int64_t now = sync::wall_clock_us();
      for (std::int64_t t : live_us) state->delivery_sse->observe(static_cast<double>(now - t) / 1e6);
    }
  }
  sub->close();
}

}  // namespace

void SseStream::frame(const sync::Event& ev, std::string& out) {
  // One growth at most: the JSON, and per event its framing (the seq has at most 20 digits).
  out.reserve(out.size() + ev.json.size() + ev.count * (40 + ev.type.size()));
  ev.parts([&](std::int64_t seq, std::string_view json) {
    char head[4 + 20 + 8];  // "id: N\nevent: ", made on the stack and appended once
    char* p = std::copy_n("id: ", 4, head);
    p = std::to_chars(p, p + 20, seq).ptr;
    p = std::copy_n("\nevent: ", 8, p);
    out.append(head, p);
    out += ev.type;
    out.append("\ndata: ", 7);
    out += json;  // serialized JSON never contains a raw newline
    out.append("\n\n", 2);
  });
}

// Most bursts fit the socket's send buffer: one non-blocking send, with no timer to arm and no
// trip through the scheduler; only what does not fit (a slow reader) waits under the deadline.
asio::awaitable<boost::system::error_code> SseStream::write_all(beast::tcp_stream& stream,
                                                                std::string_view out,
                                                                std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  std::size_t sent = stream.socket().write_some(asio::buffer(out), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    sent = 0;
  }
  if (ec || sent == out.size()) co_return ec;
  stream.expires_after(timeout);
  auto [aec, n] = co_await asio::async_write(stream, asio::buffer(out.substr(sent)),
                                             asio::as_tuple(asio::use_awaitable));
  stream.expires_never();
  co_return aec;
}

asio::awaitable<void> SseStream::run(ServerState* state, std::shared_ptr<Task> task,
                                     beast::tcp_stream& stream, api::Reply reply) {
  auto sub = reply.sse;
  http::response<http::empty_body> head;
  head.result(reply.res.result());
  head.version(reply.res.version());
  for (const auto& f : reply.res) head.set(f.name_string(), f.value());
  head.keep_alive(false);
  http::response_serializer<http::empty_body> sr(head);
  stream.expires_after(std::chrono::milliseconds(state->config.server.request_timeout_ms));
  auto [ec, n] = co_await http::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    sub->close();
    co_return;
  }
  // Initial comment so clients see the stream open before the first event.
  std::string hello = ": keep-alive\n\n";
  auto [ec2, n2] = co_await asio::async_write(stream, asio::buffer(hello), asio::as_tuple(asio::use_awaitable));
  if (ec2) {
    sub->close();
    co_return;
  }
  stream.expires_never();
  boost::system::error_code nb;
  stream.socket().non_blocking(true, nb);  // write_all's first try must never block the thread
  if (nb) {
    sub->close();
    co_return;
  }
  state->sse_connections->add(1);
  co_await (pump(state, task.get(), &stream, sub) || watch_close(&stream));
  state->sse_connections->add(-1);
  sub->close();
}

}  // namespace troupe::server
