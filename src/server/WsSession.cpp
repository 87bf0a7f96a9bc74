#include "server/WsSession.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <map>
#include <optional>
#include <vector>

#include "api/WsProtocol.h"
#include "server/CoalescingStream.h"

namespace troupe::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace asio::experimental::awaitable_operators;

namespace {

using Frame = std::shared_ptr<const std::string>;
// A frame (or writer command) and, for a live event, its publish time (µs, the publishing node's
// wall clock; 0 = not measured) for the delivery-latency histogram. An event that is a run (see
// sync::Event) is one item of `parts` frames: its JSON objects, separated by '\n'.
struct OutItem {
  Frame frame;
  std::int64_t live_us = 0;
  std::uint32_t parts = 1;
};
using OutChannel = asio::experimental::channel<void(boost::system::error_code, OutItem)>;
using Ws = websocket::stream<CoalescingStream>;
constexpr std::size_t kOutQueue = 1024;
// A burst of queued frames handed to the socket in one write stops growing at this size.
constexpr std::size_t kMaxBurstBytes = 64 * 1024;

struct Connection {
  Ws ws;
  OutChannel out;
  std::map<std::int64_t, std::shared_ptr<sync::Subscription>> subs;
  std::shared_ptr<TaskScope> pumps;
  int unanswered_pings = 0;  // pings sent since the last pong (strand only)
  std::vector<std::int64_t> burst_live_us;  // publish times of the burst being written (writer only)
  Connection(beast::tcp_stream s, const asio::any_io_executor& ex, TaskRegistry& reg)
      : ws(std::move(s)), out(ex, kOutQueue), pumps(TaskScope::create(reg, "ws.pumps")) {}
};

Frame make_frame(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

// Writer commands besides data frames, told apart by identity (a null frame is shutdown).
const Frame& ping_command() {
  static const Frame f = make_frame("ping");
  return f;
}
const Frame& close_command() {
  static const Frame f = make_frame("close");
  return f;
}

asio::awaitable<void> pump(std::shared_ptr<Connection> conn, std::shared_ptr<sync::Subscription> sub,
                           std::shared_ptr<Task> task) {
  co_await asio::this_coro::throw_if_cancelled(false);
  for (;;) {
    // Queued events are taken (and handed to the writer) without suspending.
    auto ev = sub->try_next();
    if (!ev) {
      task->set_state("awaiting event");
      ev = co_await sub->next();
    }
    if (!ev) {
      if (sub->overflowed()) {
        std::string msg = R"({"type":"error","code":"overflow","chat_id":)" + std::to_string(sub->chat_id()) +
                          R"(,"message":"subscriber fell behind; subscribe again with after_seq"})";
        OutItem item{make_frame(std::move(msg))};
        (void)co_await conn->out.async_send({}, std::move(item), asio::as_tuple(asio::use_awaitable));
      }
      break;
    }
    // Share the serialized event: no copy per subscriber.
    OutItem item{std::shared_ptr<const std::string>(ev, &ev->json), sub->is_live(*ev) ? ev->published_us : 0,
                 ev->count};
    if (conn->out.try_send(boost::system::error_code{}, item)) continue;
    if (!conn->out.is_open()) break;
    task->set_state("queueing event");
    auto [ec] = co_await conn->out.async_send({}, std::move(item), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
  sub->close();
}

// Takes the next command or frame without waiting; false when the queue is empty.
bool take(Connection& conn, OutItem& out) {
  return conn.out.try_receive([&](boost::system::error_code, OutItem f) { out = std::move(f); });
}

// Writes `first` and every data frame queued behind it (up to kMaxBurstBytes) as one socket
// write. A command met in the queue is left in `next` for the caller. The frames are framed here,
// straight into the corked buffer (a server's text frames need no mask and no state), not one by
// one through the WebSocket layer; its own control frames go through the same buffer whole.
asio::awaitable<boost::system::error_code> write_burst(ServerState* state, Connection* conn, OutItem first,
                                                       std::optional<OutItem>* next) {
  CoalescingStream& out = conn->ws.next_layer();
  out.cork();
  OutItem item = std::move(first);
  conn->burst_live_us.clear();
  boost::system::error_code ec;
  for (;;) {
    if (!conn->ws.is_open()) {
      // A close frame was sent or received: no data frame may follow it.
      ec = websocket::error::closed;
      break;
    }
    if (item.live_us) conn->burst_live_us.push_back(item.live_us);
    if (item.parts == 1) {
      ec = out.write_text_frame(*item.frame);
    } else {
      std::string_view rest(*item.frame);
      while (!ec) {
        const std::size_t nl = rest.find('\n');
        ec = out.write_text_frame(rest.substr(0, nl));
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
      }
    }
    if (ec) break;
    if (out.pending_bytes() >= kMaxBurstBytes) break;
    OutItem more;
    if (!take(*conn, more)) break;
    if (!more.frame || more.frame == ping_command() || more.frame == close_command()) {
      *next = std::move(more);
      break;
    }
    item = std::move(more);
  }
  out.uncork();
  if (!ec) ec = co_await out.drain();
  if (!ec && !conn->burst_live_us.empty()) {
    const std::int64_t now = sync::wall_clock_us();
    for (std::int64_t t : conn->burst_live_us) state->delivery_ws->observe(static_cast<double>(now - t) / 1e6);
  }
  co_return ec;
}

asio::awaitable<void> writer(ServerState* state, std::shared_ptr<Connection> conn) {
  std::optional<OutItem> carried;
  for (;;) {
    OutItem item;
    if (carried) {
      item = std::move(*carried);
      carried.reset();
    } else if (!take(*conn, item)) {
      auto [ec, f] = co_await conn->out.async_receive(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      item = std::move(f);
    }
    const Frame& frame = item.frame;
    if (!frame) {
      // Shutdown: close with 1001 while the reader is still pending; it then ends with `closed`.
      beast::get_lowest_layer(conn->ws).expires_after(std::chrono::milliseconds(1000));
      co_await conn->ws.async_close(websocket::close_reason(websocket::close_code::going_away),
                                    asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    if (frame == ping_command()) {
      auto [pec] = co_await conn->ws.async_ping({}, asio::as_tuple(asio::use_awaitable));
      if (pec) co_return;
      continue;
    }
    if (frame == close_command()) {
      // The client stopped answering pings: close (1008); the pinger drops the socket if the
      // client does not answer within a second.
      co_await conn->ws.async_close(websocket::close_reason(websocket::close_code::policy_error, "ping timeout"),
                                    asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    Connection* c = conn.get();
    std::optional<OutItem>* carry = &carried;
    boost::system::error_code ec = co_await write_burst(state, c, std::move(item), carry);
    if (ec) co_return;
  }
}

// Pings every `interval`; after two pings in a row went without a pong, closes the connection.
asio::awaitable<void> pinger(std::shared_ptr<Connection> conn, std::chrono::milliseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (conn->unanswered_pings >= 2) {
      // The writer sends a close frame (unless its queue is full); a peer that does not answer
      // that within a second loses the socket. Either way the reader then ends the session.
      if (conn->out.try_send(boost::system::error_code{}, OutItem{close_command()})) {
        timer.expires_after(std::chrono::milliseconds(1000));
        auto [cec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (cec) co_return;
      }
      boost::system::error_code ignored;
      beast::get_lowest_layer(conn->ws).socket().close(ignored);
      co_return;
    }
    ++conn->unanswered_pings;
    (void)conn->out.try_send(boost::system::error_code{}, OutItem{ping_command()});  // full queue: missed
  }
}

asio::awaitable<void> reader(ServerState* state, std::shared_ptr<Connection> conn,
                             api::WsProtocol* protocol, std::shared_ptr<Task> task) {
  beast::flat_buffer buf;
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    task->set_state("ws: reading");
    buf.clear();
    auto [ec, n] = co_await conn->ws.async_read(buf, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (!conn->ws.got_text()) {
      OutItem bad{make_frame(api::WsProtocol::error_frame("bad_request", "only text frames are accepted"))};
      (void)co_await conn->out.async_send({}, std::move(bad),
                                          asio::as_tuple(asio::use_awaitable));
      continue;
    }
    std::string_view text(static_cast<const char*>(buf.data().data()), buf.size());
    task->set_state("ws: handling");
    std::size_t live = 0;
    for (auto& [id, s] : conn->subs) live += s->closed() ? 0 : 1;
    auto action = co_await protocol->on_text(text, live);
    if (action.kind == api::WsAction::Kind::unsubscribe) {
      if (auto it = conn->subs.find(action.chat_id); it != conn->subs.end()) {
        it->second->close();
        conn->subs.erase(it);
      }
    }
    if (!action.text.empty()) {
      OutItem reply{make_frame(std::move(action.text))};
      auto [sec] = co_await conn->out.async_send({}, std::move(reply), asio::as_tuple(asio::use_awaitable));
      if (sec) co_return;
    }
    if (action.kind == api::WsAction::Kind::subscribe && action.subscription) {
      if (auto it = conn->subs.find(action.chat_id); it != conn->subs.end()) it->second->close();
      conn->subs[action.chat_id] = action.subscription;
      conn->pumps->spawn(ex, TaskSpec{"ws.pump", task->owner() + " chat:" + std::to_string(action.chat_id)},
                         [conn, sub = action.subscription](std::shared_ptr<Task> t) {
                           return pump(conn, sub, std::move(t));
                         });
    }
    (void)state;
  }
}

}  // namespace

asio::awaitable<void> WsSession::run(ServerState* state, std::shared_ptr<Task> task,
                                     beast::tcp_stream stream, api::HttpRequest req) {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto& cfg = state->config.server;
  auto user = co_await state->api.authenticate(req);
  if (!user.ok()) {
    auto r = api::error_reply(user.error(), req.version(), false);
    stream.expires_after(std::chrono::milliseconds(2000));
    co_await beast::http::async_write(stream, r.res, asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_shared<Connection>(std::move(stream), ex, state->tasks);
  beast::get_lowest_layer(conn->ws).expires_never();
  websocket::stream_base::timeout opt{};
  opt.handshake_timeout = std::chrono::milliseconds(cfg.handshake_timeout_ms);
  // Keep-alive is ours (pinger): a ping every keepalive interval, closed after two go unanswered.
  opt.idle_timeout = websocket::stream_base::none();
  opt.keep_alive_pings = false;
  conn->ws.set_option(opt);
  conn->ws.control_callback([c = conn.get()](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) c->unanswered_pings = 0;
  });
  conn->ws.read_message_max(cfg.ws_max_message_bytes);
  auto [aec] = co_await conn->ws.async_accept(req, asio::as_tuple(asio::use_awaitable));
  if (aec) co_return;

  api::WsProtocol protocol(state->api.services(), std::move(user).value());
  std::weak_ptr<Connection> weak = conn;
  auto hook = state->shutdown_hooks.add([weak, ex] {
    asio::post(ex, [weak] {
      if (auto c = weak.lock()) (void)c->out.try_send(boost::system::error_code{}, OutItem{});
    });
  });
  state->ws_connections->add(1);
  const auto ping_every = std::chrono::milliseconds(std::max<std::uint32_t>(cfg.keepalive_interval_ms, 10));
  co_await (reader(state, conn, &protocol, task) || writer(state, conn) || pinger(conn, ping_every));
  state->ws_connections->add(-1);
  state->shutdown_hooks.remove(hook);

  // The connection is over: end every subscription and pump with it.
  for (auto& [id, s] : conn->subs) s->close();
  conn->subs.clear();
  conn->out.close();
  conn->pumps->cancel();
}

}  // namespace troupe::server
