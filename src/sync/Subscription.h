// Subscription: one subscriber's bounded queue of a chat's events. The bus pushes (any thread);
// the owning connection awaits next() on its own executor. The queue is a ring of items (an
// event, or a run of events: see Event) that grows (by doubling) as needed and is then reused,
// so steady streaming allocates nothing; a waiting next() is woken by a timer cancelled on the
// subscriber's executor. A subscriber that falls more than the capacity (in events) behind is
// closed with overflowed() = true (it can resume by seq). Closing drops what is still queued.
// Thread-safety: push/close/closed/overflowed/try_next from any thread; next() from one coroutine
// at a time, running on the executor given at construction.
#pragma once

#include <atomic>
#include <chrono>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "sync/Event.h"

namespace troupe::sync {

class Subscription {
 public:
  Subscription(boost::asio::any_io_executor ex, std::int64_t chat_id, std::size_t capacity);
  ~Subscription();

  std::int64_t chat_id() const { return chat_id_; }
  // Where the subscriber awaits its events (the executor given at construction).
  const boost::asio::any_io_executor& executor() const { return ex_; }
  // Next event, or nullptr when the subscription is closed (by close(), overflow or shutdown) or
  // the awaiting coroutine was cancelled.
  boost::asio::awaitable<EventPtr> next();
  // next() that gives up at `deadline`: {event} as next() would, or {nullptr, timed_out = true}
  // when nothing came by then (a keep-alive is due). One timer, no parallel group.
  struct Next {
    EventPtr event;
    bool timed_out = false;
  };
  boost::asio::awaitable<Next> next_until(std::chrono::steady_clock::time_point deadline);
  // An already queued event without waiting, or nullptr.
  EventPtr try_next();
  // Moves up to `max` queued items to the end of `out` without waiting; returns how many.
  std::size_t try_take(std::vector<EventPtr>& out, std::size_t max);
  // Non-blocking push from the bus; on a full queue the subscription closes as overflowed.
  void push(EventPtr event);
  // push() of a run of events in order, under one lock and with one wake-up. A run that does not
  // fit closes the subscription as overflowed, taking none of it.
  void push_batch(const std::vector<EventPtr>& events);
  void close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  bool overflowed() const { return overflowed_.load(std::memory_order_acquire); }
  // The seq of the last event queued (the end of a run).
  std::int64_t last_seq() const { return last_seq_.load(std::memory_order_relaxed); }
  // Wall clock (µs) at creation: events published before it reach this subscriber as replay,
  // events published after it live (the delivery-latency histogram counts only those).
  std::int64_t created_us() const { return created_us_; }
  bool is_live(const Event& ev) const { return ev.published_us != 0 && ev.published_us >= created_us_; }

 private:
  // The timer a waiting next() sleeps on; shared with the posted wake-ups, which may run after the
  // subscription is gone.
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
  };
  EventPtr pop_locked();       // requires mu_
  void push_locked(EventPtr);  // requires mu_ and room
  void wake();                 // posts the timer's cancellation to ex_

  std::int64_t chat_id_;
  std::int64_t created_us_ = wall_clock_us();
  boost::asio::any_io_executor ex_;
  std::size_t capacity_;
  std::shared_ptr<Waiter> waiter_;
  mutable std::mutex mu_;
  std::vector<EventPtr> ring_;  // guarded by mu_; circular, size_ events from head_
  std::size_t head_ = 0;        // guarded by mu_
  std::size_t size_ = 0;        // guarded by mu_: items queued
  std::size_t events_ = 0;      // guarded by mu_: events in them (bounded by capacity_)
  bool waiting_ = false;        // guarded by mu_: a next() sleeps on the timer
  std::atomic<bool> closed_{false};
  std::atomic<bool> overflowed_{false};
  std::atomic<std::int64_t> last_seq_{0};
};

}  // namespace troupe::sync
