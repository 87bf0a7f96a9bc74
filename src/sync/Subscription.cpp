#include "sync/Subscription.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace troupe::sync {

namespace asio = boost::asio;

Subscription::Subscription(asio::any_io_executor ex, std::int64_t chat_id, std::size_t capacity)
    : chat_id_(chat_id),
      ex_(std::move(ex)),
      capacity_(std::max<std::size_t>(capacity, 1)),
      waiter_(std::make_shared<Waiter>(ex_)) {}

Subscription::~Subscription() { close(); }

EventPtr Subscription::pop_locked() {
  if (size_ == 0) return nullptr;
  EventPtr ev = std::move(ring_[head_]);
  head_ = head_ + 1 == ring_.size() ? 0 : head_ + 1;
  --size_;
  events_ -= ev->count;
  return ev;
}

void Subscription::push_locked(EventPtr ev) {
  if (size_ == ring_.size()) {
    // Grow (only while young: the ring keeps its size once it reached what the stream needs).
    std::vector<EventPtr> bigger(std::min(capacity_, std::max<std::size_t>(16, ring_.size() * 2)));
    for (std::size_t i = 0; i < size_; ++i) {
      bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
    }
    ring_.swap(bigger);
    head_ = 0;
  }
  std::size_t at = head_ + size_;
  if (at >= ring_.size()) at -= ring_.size();
  events_ += ev->count;
  ring_[at] = std::move(ev);
  ++size_;
}

void Subscription::wake() {
  asio::post(ex_, [w = waiter_] { w->timer.cancel(); });
}

asio::awaitable<EventPtr> Subscription::next() {
  auto r = co_await next_until(asio::steady_timer::time_point::max());
  co_return std::move(r.event);
}

asio::awaitable<Subscription::Next> Subscription::next_until(
    std::chrono::steady_clock::time_point deadline) {
  auto cs = co_await asio::this_coro::cancellation_state;
  std::shared_ptr<Waiter> w = waiter_;
  for (;;) {
    if (cs.cancelled() != asio::cancellation_type::none) co_return Next{};
    {
      std::lock_guard lock(mu_);
      if (closed()) co_return Next{};
      if (EventPtr ev = pop_locked()) co_return Next{std::move(ev), false};
      if (std::chrono::steady_clock::now() >= deadline) co_return Next{nullptr, true};
      waiting_ = true;
    }
    // A push or close from now on posts the timer's cancellation to this executor, which runs it
    // after this wait has started: no wake-up is lost. A cancellation left over from an earlier
    // wait only sends this loop round again. Cancelling the awaiting coroutine cancels the wait;
    // an event pushed meanwhile stays queued for the next call.
    w->timer.expires_at(deadline);
    auto [ec] = co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // expired or woken: the checks above tell which
    std::lock_guard lock(mu_);
    waiting_ = false;
  }
}

EventPtr Subscription::try_next() {
  std::lock_guard lock(mu_);
  if (closed()) return nullptr;
  return pop_locked();
}

std::size_t Subscription::try_take(std::vector<EventPtr>& out, std::size_t max) {
  std::lock_guard lock(mu_);
  if (closed()) return 0;
  std::size_t n = 0;
  for (; n < max && size_ > 0; ++n) out.push_back(pop_locked());
  return n;
}

void Subscription::push_batch(const std::vector<EventPtr>& events) {
  if (events.empty()) return;
  bool wake_it = false;
  bool overflow = false;
  {
    std::lock_guard lock(mu_);
    if (closed()) return;
    std::size_t n = 0;
    for (const auto& ev : events) n += ev->count;
    if (events_ + n > capacity_) {
      overflowed_.store(true, std::memory_order_release);
      overflow = true;
    } else {
      for (const auto& ev : events) push_locked(ev);
      last_seq_.store(events.back()->last_seq(), std::memory_order_relaxed);
      wake_it = waiting_;
      waiting_ = false;
    }
  }
  if (overflow) {
    close();
    return;
  }
  if (wake_it) wake();
}

void Subscription::push(EventPtr event) {
  bool wake_it = false;
  {
    std::lock_guard lock(mu_);
    if (closed()) return;
    if (events_ + event->count > capacity_) {
      overflowed_.store(true, std::memory_order_release);
    } else {
      const auto seq = event->last_seq();
      push_locked(std::move(event));
      last_seq_.store(seq, std::memory_order_relaxed);
      wake_it = waiting_;
      waiting_ = false;
    }
  }
  if (overflowed_.load(std::memory_order_acquire)) {
    close();
    return;
  }
  if (wake_it) wake();
}

void Subscription::close() {
  bool wake_it = false;
  std::vector<EventPtr> dropped;
  {
    std::lock_guard lock(mu_);
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    dropped.swap(ring_);  // released outside the lock
    head_ = size_ = events_ = 0;
    wake_it = waiting_;
    waiting_ = false;
  }
  if (wake_it) wake();
}

}  // namespace troupe::sync
