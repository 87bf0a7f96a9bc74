// Subscription: one subscriber's bounded queue of a chat's events. The bus pushes (any thread);
// the owning connection awaits next() on its own executor. A subscriber that falls more than the
// queue capacity behind is closed with overflowed() = true (it can resume by seq).
// Thread-safety: push/close/closed/overflowed from any thread; next() from one coroutine at a time.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <cstdint>
#include <deque>

#include "sync/Event.h"

namespace troupe::sync {

class Subscription {
 public:
  Subscription(boost::asio::any_io_executor ex, std::int64_t chat_id, std::size_t capacity);
  ~Subscription();

  std::int64_t chat_id() const { return chat_id_; }
  // Next event, or nullptr when the subscription is closed (by close(), overflow or shutdown) or
  // the awaiting coroutine was cancelled.
  boost::asio::awaitable<EventPtr> next();
  // An already queued event without waiting, or nullptr.
  EventPtr try_next();
  // Non-blocking push from the bus; on a full queue the subscription closes as overflowed.
  void push(EventPtr event);
  void close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  bool overflowed() const { return overflowed_.load(std::memory_order_acquire); }
  std::int64_t last_seq() const { return last_seq_.load(std::memory_order_relaxed); }
  // Wall clock (µs) at creation: events published before it reach this subscriber as replay,
  // events published after it live (the delivery-latency histogram counts only those).
  std::int64_t created_us() const { return created_us_; }
  bool is_live(const Event& ev) const { return ev.published_us != 0 && ev.published_us >= created_us_; }

 private:
  using Channel =
      boost::asio::experimental::concurrent_channel<void(boost::system::error_code, EventPtr)>;
  std::int64_t chat_id_;
  std::int64_t created_us_ = wall_clock_us();
  Channel channel_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> overflowed_{false};
  std::atomic<std::int64_t> last_seq_{0};
  // Events taken from the channel by a next() whose caller was cancelled meanwhile; handed out
  // first by the following next()/try_next(). Consumer side only.
  std::deque<EventPtr> stash_;
};

}  // namespace troupe::sync
