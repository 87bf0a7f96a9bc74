#include "server/CoalescingStream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace troupe::server {

namespace asio = boost::asio;

CoalescingStream::CoalescingStream(boost::beast::tcp_stream s)
    : next_(std::move(s)), state_(std::make_shared<State>(next_.get_executor())) {
  state_->idle.expires_at(asio::steady_timer::time_point::max());
}

void CoalescingStream::uncork() {
  state_->corked = false;
  start_write();
}

void CoalescingStream::start_write() {
  State& st = *state_;
  if (st.writing || st.pending.empty() || st.error) return;
  st.writing = true;
  st.inflight.swap(st.pending);
  st.pending.clear();
  // The handler owns the state, not the stream: a session that ends while a write is in flight
  // leaves the buffers alive until the write completes (with an error).
  asio::async_write(next_, asio::buffer(st.inflight),
                    [st = state_, next = &next_](boost::system::error_code ec, std::size_t) {
                      on_written(st, next, ec);
                    });
}

void CoalescingStream::on_written(const std::shared_ptr<State>& st, next_layer_type* next,
                                  boost::system::error_code ec) {
  st->writing = false;
  st->inflight.clear();
  if (ec) {
    st->error = ec;
    st->pending.clear();
  }
  st->idle.cancel();
  if (ec || st->corked || st->pending.empty()) return;
  // More was written (uncorked) while this write was in flight: send it now. `next` is only used
  // when no error occurred, i.e. while the session (which owns the stream) still runs it.
  st->writing = true;
  st->inflight.swap(st->pending);
  st->pending.clear();
  asio::async_write(*next, asio::buffer(st->inflight),
                    [st, next](boost::system::error_code e, std::size_t) { on_written(st, next, e); });
}

boost::system::error_code CoalescingStream::write_text_frame(std::string_view payload) {
  State& st = *state_;
  if (st.error) return st.error;
  char head[10];
  std::size_t len = 2;
  const std::uint64_t n = payload.size();
  head[0] = static_cast<char>(0x81);  // FIN, text
  if (n < 126) {
    head[1] = static_cast<char>(n);
  } else if (n <= 0xFFFF) {
    head[1] = 126;
    head[2] = static_cast<char>(n >> 8);
    head[3] = static_cast<char>(n);
    len = 4;
  } else {
    head[1] = 127;
    for (int i = 0; i < 8; ++i) head[2 + i] = static_cast<char>(n >> (56 - 8 * i));
    len = 10;
  }
  st.pending.append(head, len);
  st.pending.append(payload);
  if (!st.corked) start_write();
  return {};
}

asio::awaitable<boost::system::error_code> CoalescingStream::drain() {
  auto st = state_;
  while (!st->error && (st->writing || !st->pending.empty())) {
    if (!st->writing) start_write();
    if (!st->writing) break;
    auto [ec] = co_await st->idle.async_wait(asio::as_tuple(asio::use_awaitable));
    st->idle.expires_at(asio::steady_timer::time_point::max());
    // operation_aborted is the wake-up from on_written; anything else cannot happen here.
    (void)ec;
    asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return asio::error::operation_aborted;
  }
  co_return st->error;
}

void CoalescingStream::flush_blocking(boost::system::error_code& ec) {
  State& st = *state_;
  ec = st.error;
  if (ec || st.writing) return;  // a write in flight finishes on its own
  if (!st.pending.empty()) {
    asio::write(next_.socket(), asio::buffer(st.pending), ec);
    st.pending.clear();
    if (ec) st.error = ec;
  }
}

void teardown(boost::beast::role_type role, CoalescingStream& s, boost::system::error_code& ec) {
  s.flush_blocking(ec);
  if (ec) return;
  using boost::beast::teardown;
  teardown(role, s.next_layer(), ec);
}

}  // namespace troupe::server
