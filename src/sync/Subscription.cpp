#include "sync/Subscription.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace troupe::sync {

namespace asio = boost::asio;

Subscription::Subscription(asio::any_io_executor ex, std::int64_t chat_id, std::size_t capacity)
    : chat_id_(chat_id), channel_(std::move(ex), capacity) {}

Subscription::~Subscription() { channel_.close(); }

asio::awaitable<EventPtr> Subscription::next() {
  if (closed() && !channel_.ready()) co_return nullptr;
  auto [ec, ev] = co_await channel_.async_receive(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return nullptr;
  co_return ev;
}

EventPtr Subscription::try_next() {
  EventPtr out;
  channel_.try_receive([&out](boost::system::error_code ec, EventPtr ev) {
    if (!ec) out = std::move(ev);
  });
  return out;
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
