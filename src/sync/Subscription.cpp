#include "sync/Subscription.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace troupe::sync {

namespace asio = boost::asio;

Subscription::Subscription(asio::any_io_executor ex, std::int64_t chat_id, std::size_t capacity)
    : chat_id_(chat_id), channel_(std::move(ex), capacity) {}

Subscription::~Subscription() { channel_.close(); }

asio::awaitable<EventPtr> Subscription::next() {
  // The receive is not bound to the caller's cancellation slot: cancelling a waiting channel
  // receive leaves a buffered Boost 1.81 channel refusing every later try_send (so the
  // subscription would "overflow" on its next event). Cancellation wakes the receive with a
  // sentinel instead, and an event that arrives together with the cancellation is kept for the
  // next call rather than lost (e.g. when next() loses an `||` race against a timer).
  auto cs = co_await asio::this_coro::cancellation_state;
  auto cancelled = [&cs] { return cs.cancelled() != asio::cancellation_type::none; };
  for (;;) {
    if (closed() || cancelled()) co_return nullptr;
    if (!stash_.empty()) {
      EventPtr ev = std::move(stash_.front());
      stash_.pop_front();
      co_return ev;
    }
    auto slot = cs.slot();
    if (slot.is_connected()) {
      slot.assign([this](asio::cancellation_type) {
        (void)channel_.try_send(asio::error::operation_aborted, EventPtr());
      });
    }
    auto [ec, ev] = co_await channel_.async_receive(
        asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable)));
    if (slot.is_connected()) slot.clear();
    if (ec && ec != asio::error::operation_aborted) co_return nullptr;  // closed
    if (cancelled()) {
      if (ev) stash_.push_back(std::move(ev));
      co_return nullptr;
    }
    if (ev) co_return ev;
    // A wake-up left over from an earlier cancellation: wait again.
  }
}

EventPtr Subscription::try_next() {
  if (!stash_.empty()) {
    EventPtr ev = std::move(stash_.front());
    stash_.pop_front();
    return ev;
  }
  EventPtr out;
  for (;;) {
    bool got = channel_.try_receive([&out](boost::system::error_code ec, EventPtr ev) {
      if (!ec) out = std::move(ev);
    });
    if (!got || out) return out;  // skip wake-up sentinels
  }
}

void Subscription::push(EventPtr event) {
  if (closed()) return;
  auto seq = event->seq;
  if (!channel_.try_send(boost::system::error_code{}, std::move(event))) {
    overflowed_.store(true, std::memory_order_release);
    close();
    return;
  }
  last_seq_.store(seq, std::memory_order_relaxed);
}

void Subscription::close() {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  channel_.close();
}

}  // namespace troupe::sync
